// The reference guest's memory map: one layout for every platform. One of the
// platforms is a plain Linux process, which can map only lower-half addresses
// and already holds mappings of its own (its executable and libraries, placed
// high by ASLR); so the whole guest lives in the low 3 GiB, and any canonical
// address works on bare hardware too. Described in docs/guest.md.
//
// Freestanding: the guest, the in-place VMMs and the monitors all include it.
#pragma once

#include <stdint.h>

namespace previrt::layout {

// Nothing is mapped below this: null-pointer dereferences fault.
inline constexpr uint64_t kNullGuardEnd = 0x0000'0000'0040'0000;

// User space: programs are linked at kUserImageBase; map() hands out memory
// from kUserHeapBase up; the stack ends at kUserStackTop.
inline constexpr uint64_t kUserBase = 0x0000'0000'0040'0000;
inline constexpr uint64_t kUserImageBase = 0x0000'0000'0040'0000;
inline constexpr uint64_t kUserHeapBase = 0x0000'0000'1000'0000;
inline constexpr uint64_t kUserStackTop = 0x0000'0000'3000'0000;
inline constexpr uint64_t kUserStackSize = 64 * 1024;
inline constexpr uint64_t kUserEnd = 0x0000'0000'3000'0000;

// The kernel window: guest-physical [0, kKernelWindowSize) appears at
// kKernelBase + physical address. The kernel image is linked inside it, at
// kKernelBase + kKernelPhysLoad, so a kernel symbol is below 2 GiB (gcc's small
// code model) and its physical address is a subtraction away.
inline constexpr uint64_t kKernelBase = 0x0000'0000'4000'0000;
inline constexpr uint64_t kKernelWindowSize = 0x0000'0000'4000'0000;  // 1 GiB of guest RAM at most
inline constexpr uint64_t kKernelPhysLoad = 0x0000'0000'0010'0000;    // 1 MiB, where Multiboot loads it
inline constexpr uint64_t kKernelEnd = kKernelBase + kKernelWindowSize;

// The hole the kernel never maps or touches: room for an in-place VMM loaded
// beside the guest (its code, data and the platform's device models).
inline constexpr uint64_t kVmmHoleBase = 0x0000'0000'8000'0000;
inline constexpr uint64_t kVmmHoleSize = 0x0000'0000'4000'0000;
inline constexpr uint64_t kVmmHoleEnd = kVmmHoleBase + kVmmHoleSize;

static_assert(kUserEnd <= kKernelBase && kKernelEnd <= kVmmHoleBase);
static_assert(kKernelBase + kKernelWindowSize <= 0x8000'0000, "kernel symbols must stay below 2 GiB");

constexpr uint64_t kernel_virt(uint64_t phys) { return kKernelBase + phys; }
constexpr uint64_t kernel_phys(uint64_t virt) { return virt - kKernelBase; }

// The exit port: a write of status S ends the run with status S (QEMU's
// isa-debug-exit at this port makes the process exit with (S << 1) | 1; the
// monitors implement it directly).
inline constexpr uint16_t kExitPort = 0xf4;

}  // namespace previrt::layout
