// Spinlocks that save and restore the interrupt flag: pushf; cli ... popf, the
// classic pattern that trap-and-emulate gets wrong (popf at CPL 3 silently
// drops IF), and so the pattern pre-virtualization must get right.
#pragma once

#include <stdint.h>

#include "arch/x86_64/cpu.h"

namespace guest {

class IrqSaveLock {
public:
    uint64_t lock() {
        uint64_t flags = cpu::read_flags();
        cpu::cli();
        while (__atomic_exchange_n(&locked_, 1, __ATOMIC_ACQUIRE)) cpu::pause();
        return flags;
    }
    void unlock(uint64_t flags) {
        release();
        cpu::write_flags(flags);
    }

    // For sleep_on: the lock alone, interrupts stay as they are.
    void release() { __atomic_store_n(&locked_, 0, __ATOMIC_RELEASE); }
    void acquire() {
        while (__atomic_exchange_n(&locked_, 1, __ATOMIC_ACQUIRE)) cpu::pause();
    }

private:
    volatile uint32_t locked_ = 0;
};

class LockGuard {
public:
    explicit LockGuard(IrqSaveLock& l) : lock_(l), flags_(l.lock()) {}
    ~LockGuard() { lock_.unlock(flags_); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    IrqSaveLock& lock_;
    uint64_t flags_;
};

}  // namespace guest
