// The virtual CPU in architectural terms: what an x86-64 processor holds that the
// guest kernel can see or change. Every backend keeps one; the core's
// emulator and interrupt delivery read and write it, and nothing in it says
// which hypervisor runs the guest (so a running guest's state can be written
// out and read back in on another one).
//
// Freestanding: no allocation, no library beyond <stdint.h>.
#pragma once

#include <stdint.h>

#include "x86/control.h"

namespace previrt::vmm {

// General registers in the order of their encoding (Intel SDM Vol. 2A, table 2-2).
enum Gpr : unsigned { kRax, kRcx, kRdx, kRbx, kRsp, kRbp, kRsi, kRdi, kR8, kR9, kR10, kR11, kR12, kR13, kR14, kR15 };

// RFLAGS bits (Intel SDM Vol. 1, 3.4.3).
inline constexpr uint64_t kFlagCf = 1u << 0;
inline constexpr uint64_t kFlagReserved1 = 1u << 1;
inline constexpr uint64_t kFlagTf = 1u << 8;
inline constexpr uint64_t kFlagIf = 1u << 9;
inline constexpr uint64_t kFlagDf = 1u << 10;
inline constexpr uint64_t kFlagIopl = 3u << 12;
inline constexpr uint64_t kFlagNt = 1u << 14;
inline constexpr uint64_t kFlagRf = 1u << 16;
inline constexpr uint64_t kFlagVm = 1u << 17;
inline constexpr uint64_t kFlagAc = 1u << 18;
// What a guest's popf or iretq can change of the flags a de-privileged guest
// runs with: the arithmetic flags, TF, DF, AC and ID (not IF, IOPL, VM).
inline constexpr uint64_t kFlagsUser = 0x0000'0000'0025'4dd5ull;

// Model-specific registers the core implements (Intel SDM Vol. 4, table 2-2).
using x86::kMsrApicBase, x86::kMsrCstar, x86::kMsrEfer, x86::kMsrFsBase, x86::kMsrGsBase, x86::kMsrKernelGsBase,
    x86::kMsrLstar, x86::kMsrPat, x86::kMsrSfmask, x86::kMsrStar, x86::kMsrTscAux;
using x86::kEferLma, x86::kEferLme, x86::kEferNxe, x86::kEferSce;

// Control-register bits the core looks at.
using x86::kCr0Pe, x86::kCr0Pg, x86::kCr0Wp, x86::kCr3AddressMask, x86::kCr4Pae, x86::kCr4Pge;

// Segment registers in the order of their encoding.
enum Sreg : unsigned { kEs, kCs, kSs, kDs, kFs, kGs };

struct TableRegister {
    uint64_t base = 0;
    uint16_t limit = 0;
};

struct Vcpu {
    // The guest's registers while the VMM holds them (between an entry from
    // the guest and the resume).
    uint64_t gpr[16] = {};
    uint64_t rip = 0;
    // The flags as the guest sees them: IF is the virtual interrupt flag, IOPL
    // is what the guest last loaded.
    uint64_t rflags = kFlagReserved1;
    uint16_t sreg[6] = {};
    uint8_t cpl = 0;

    uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0;
    uint64_t efer = 0;
    TableRegister gdtr, idtr;
    uint16_t tr = 0;
    uint64_t tss_base = 0;  // from the TSS descriptor when tr was loaded
    uint16_t ldtr = 0;

    uint64_t star = 0, lstar = 0, cstar = 0, sfmask = 0;
    uint64_t fs_base = 0, gs_base = 0, kernel_gs_base = 0, tsc_aux = 0;
    uint64_t pat = 0x0007'0406'0007'0406ull;  // the power-up value (Intel SDM Vol. 3A, 11.12.4)

    bool interrupts_enabled() const { return rflags & kFlagIf; }
    bool user_mode() const { return cpl == 3; }
};

}  // namespace previrt::vmm
