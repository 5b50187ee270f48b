// The global descriptor table and the task-state segment. The selector order is
// what syscall/sysret require (Intel SDM Vol. 2B, SYSCALL and SYSRET): kernel
// data right after kernel code; user data, then user code, after STAR's base.
#pragma once

#include <stdint.h>

namespace guest::gdt {

inline constexpr uint16_t kKernelCode = 0x08;
inline constexpr uint16_t kKernelData = 0x10;
inline constexpr uint16_t kUserData = 0x18 | 3;
inline constexpr uint16_t kUserCode = 0x20 | 3;
inline constexpr uint16_t kTss = 0x28;
// STAR[63:48]: sysret loads CS from this + 16 and SS from this + 8.
inline constexpr uint16_t kSysretBase = 0x10 | 3;

void init();
// The stack the processor switches to on an interrupt from user mode.
void set_kernel_stack(uint64_t rsp0);

}  // namespace guest::gdt
