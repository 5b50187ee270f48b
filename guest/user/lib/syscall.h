// System-call wrappers for the reference guest's user programs, one per number
// in guest/abi/syscalls.h. Results are passed through raw: a negative value is
// a guest::sys::Error.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "abi/syscalls.h"

namespace user {

namespace sys = guest::sys;

// The ABI clobbers only rcx and r11 (and memory, since the kernel reads and
// writes user buffers); the self-test checks that everything else survives.
inline int64_t syscall(uint64_t number, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                       uint64_t a4 = 0) {
    register uint64_t r10 asm("r10") = a3;
    register uint64_t r8 asm("r8") = a4;
    int64_t result;
    asm volatile("syscall"
                 : "=a"(result)
                 : "a"(number), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
                 : "rcx", "r11", "memory");
    return result;
}

inline uint64_t u(const volatile void* p) { return reinterpret_cast<uint64_t>(p); }

inline int64_t write(int64_t fd, const void* buf, uint64_t size) {
    return syscall(sys::kWrite, static_cast<uint64_t>(fd), u(buf), size);
}
inline int64_t read(int64_t fd, void* buf, uint64_t size) {
    return syscall(sys::kRead, static_cast<uint64_t>(fd), u(buf), size);
}
[[noreturn]] inline void exit(int64_t status) {
    syscall(sys::kExit, static_cast<uint64_t>(status));
    __builtin_unreachable();
}
inline int64_t spawn(const char* program, uint64_t arg) { return syscall(sys::kSpawn, u(program), arg); }
inline int64_t wait(int64_t pid, int64_t* status) { return syscall(sys::kWait, static_cast<uint64_t>(pid), u(status)); }
inline int64_t yield() { return syscall(sys::kYield); }
inline int64_t getpid() { return syscall(sys::kGetpid); }
inline int64_t pipe(int32_t fds[2]) { return syscall(sys::kPipe, u(fds)); }
// An address, or a negative error (addresses are far below 2^63).
inline int64_t map(uint64_t size) { return syscall(sys::kMap, size); }
inline int64_t unmap(uint64_t address, uint64_t size) { return syscall(sys::kUnmap, address, size); }
inline int64_t clock() { return syscall(sys::kClock); }
inline int64_t close(int64_t fd) { return syscall(sys::kClose, static_cast<uint64_t>(fd)); }
inline int64_t kill(int64_t pid) { return syscall(sys::kKill, static_cast<uint64_t>(pid)); }
inline int64_t kernel_test(sys::KernelTest test, uint64_t arg = 0) { return syscall(sys::kKernelTest, test, arg); }
inline int64_t kernel_bench(sys::KernelBench bench, uint64_t iterations) {
    return syscall(sys::kKernelBench, bench, iterations);
}
inline int64_t info(sys::Info what) { return syscall(sys::kInfo, what); }

// Writes all of buf, looping over short writes; the count, or the first error.
int64_t write_all(int64_t fd, const void* buf, uint64_t size);

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

// The TSC frequency the kernel calibrated, or a guess of 3 GHz if it reports
// none, so that time bounds still end.
uint64_t tsc_hz();

// A bound on anything that could hang, measured by the TSC rather than by the
// kernel's clock, which may itself be what is broken.
class Deadline {
public:
    explicit Deadline(uint64_t milliseconds) : start_(rdtsc()), cycles_(tsc_hz() / 1000 * milliseconds) {}
    bool passed() const { return rdtsc() - start_ >= cycles_; }

private:
    uint64_t start_;
    uint64_t cycles_;
};

// The spawn argument: the kernel's command-line flags in the low byte (so the
// boot-time run, whose argument is the flags alone, is role 0), the role in the
// next byte, a role-specific parameter above.
inline constexpr uint64_t spawn_arg(uint64_t role, uint64_t flags, uint64_t param = 0) {
    return (param << 16) | ((role & 0xff) << 8) | (flags & 0xff);
}
inline constexpr uint64_t arg_flags(uint64_t arg) { return arg & 0xff; }
inline constexpr uint64_t arg_role(uint64_t arg) { return (arg >> 8) & 0xff; }
inline constexpr uint64_t arg_param(uint64_t arg) { return arg >> 16; }

}  // namespace user
