// The para-virtual interfaces: what a guest built for one hypervisor (the
// reference guest with PREVIRT_PARAVIRT or PREVIRT_PARAVIRT_KVM, the seed's
// "L4Ka::Linux" rows, kept only to compare with) calls directly, where a
// pre-virtualized guest has the same calls written into its sites at load
// time. The entries live in the VMM hole (guest_layout.h); the bytes are
// described in docs/in-place-vmm.md.
//
// Two hypervisors, two interfaces on the same entries, as two builds of a
// para-virtualized kernel for two hypervisors:
// - the Linux process's (kNoteParavirt): every operation below, and the
//   virtual interrupt flag in the hot page;
// - KVM's (kNoteParavirtKvm): only kIn, kOut (the devices the in-place VMM
//   keeps) and kWriteCr with n = 3 (a root gets the hole); KVM runs the rest
//   of the privileged instructions natively, so the guest keeps them.
//
// A para-virtualized image says so with an ELF note "previrt" of the
// interface's type holding its version (4 bytes); a backend refuses an image
// built for the other interface, or for a version it does not know.
//
// Freestanding: the guest, the in-place VMMs and host tools include it.
#pragma once

#include <stdint.h>

#include "previrt/guest_layout.h"
#include "previrt/note.h"

namespace previrt::pv {

inline constexpr uint32_t kNoteParavirt = PREVIRT_NOTE_PARAVIRT;
inline constexpr uint32_t kParavirtVersion = PREVIRT_PARAVIRT_VERSION;
inline constexpr uint32_t kNoteParavirtKvm = PREVIRT_NOTE_PARAVIRT_KVM;
inline constexpr uint32_t kParavirtKvmVersion = PREVIRT_PARAVIRT_KVM_VERSION;

// The hot page: bytes the guest reads and writes directly.
inline constexpr uint64_t kHotPage = layout::kVmmHoleBase + 0x1000;
inline constexpr uint64_t kInterruptFlag = kHotPage + 0;  // the virtual IF: 1 enabled, 0 disabled
inline constexpr uint64_t kEventPending = kHotPage + 1;   // nonzero: call kSti (or kRestoreFlags) after enabling

// The operations, each at its own entry: `call entry(op)` (a rel32 call from
// anywhere in the kernel window). Arguments in rdi, rsi, rdx; a result in
// rax. Every entry keeps every other register and the flags, so assembly can
// call them where all registers are live. kSysret and kIret do not return.
enum Op : unsigned {
    kSti,            // the virtual IF was just set and an event is pending: deliver it
    kHalt,           // sti; hlt: set the virtual IF and wait for an interrupt
    kIn,             // (port, size) -> value
    kOut,            // (port, size, value)
    kReadCr,         // (n) -> CRn
    kWriteCr,        // (n, value)
    kInvlpg,         // (address)
    kRdmsr,          // (msr) -> value
    kWrmsr,          // (msr, value)
    kLoadGdt,        // (address of a 10-byte pseudo-descriptor)
    kLoadIdt,        // (address of a 10-byte pseudo-descriptor)
    kLoadTr,         // (selector)
    kLoadSegments,   // (code selector, data selector): CS, and DS/ES/SS, FS/GS null
    kSwapgs,         // ()
    kSysret,         // sysretq: rcx = user rip, r11 = user flags, as the instruction takes them
    kIret,           // iretq: the frame on the stack, above the call's return address
    kOpCount,
};

inline constexpr uint64_t kEntryBase = layout::kVmmHoleBase + 0x800;
inline constexpr uint64_t kEntrySize = 16;
constexpr uint64_t entry(Op op) { return kEntryBase + kEntrySize * op; }
static_assert(kEntryBase + kEntrySize * kOpCount <= layout::kVmmHoleBase + 0x1000, "the entries fit the thunk page");

}  // namespace previrt::pv
