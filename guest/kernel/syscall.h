// System calls: the entry's frame and the per-CPU area the entry finds through GS.
#pragma once

#include <stdint.h>

namespace guest {

struct SyscallFrame {
    uint64_t number;
    uint64_t args[5];  // rdi, rsi, rdx, r10, r8
    uint64_t r9;       // saved only to be given back
    uint64_t rip, rflags, rsp;
};

struct PerCpu {
    uint64_t kernel_rsp;  // top of the current process's kernel stack
    uint64_t user_rsp;    // scratch for the entry
};

extern PerCpu percpu;

// Sets the syscall MSRs (EFER.SCE, STAR, LSTAR, SFMASK) and the GS bases.
void syscall_init();

}  // namespace guest
