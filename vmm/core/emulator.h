// Emulation of one sensitive instruction on the virtual CPU: what the
// processor would do at CPL 0, with port I/O and the effects on the host's
// view of guest memory handed to the backend. Both ways into the VMM end here:
// a trap on an instruction the guest executed de-privileged (pure
// virtualization), and a call from a rewritten site (pre-virtualization),
// which only skips the trap.
//
// Freestanding: Zydis's decoded form in, no allocation.
#pragma once

#include <Zydis/Zydis.h>
#include <stdint.h>

#include "sites/decoded_insn.h"
#include "vmm/core/guest_memory.h"
#include "vmm/core/transitions.h"
#include "vmm/core/vcpu.h"

namespace previrt::vmm {

// What the emulator needs of the backend it runs in: the per-hypervisor part of the in-place VMM.
class Backend {
public:
    virtual uint32_t port_read(uint16_t port, unsigned size) = 0;
    virtual void port_write(uint16_t port, unsigned size, uint32_t value) = 0;
    // CR3 (or CR0/CR4 paging bits) changed: every cached translation is stale.
    virtual void flush_translations() = 0;
    // invlpg: the translation of the page holding `va` is stale.
    virtual void flush_translation(uint64_t va) = 0;

protected:
    ~Backend() = default;
};

// The decoder's own type (sites/decoded_insn.h): what it decodes is emulated as it is.
using DecodedInstruction = sites::DecodedInsn;

enum class Outcome {
    Done,         // rip is past the instruction (or where it transferred control)
    Fault,        // deliver `fault`; rip still at the instruction
    Halt,         // hlt: rip past it; wait for an interrupt
    Unsupported,  // not an instruction the emulator knows
};

struct Emulation {
    Outcome outcome = Outcome::Done;
    Event fault;
    // sti: the next instruction runs before any interrupt (Intel SDM Vol. 2B,
    // STI: the interrupt shadow), which is what makes `sti; hlt` safe.
    bool interrupt_shadow = false;
};

// Emulates `d`, which starts at vcpu.rip.
Emulation emulate(const GuestMemory& memory, Vcpu& vcpu, Backend& backend, const DecodedInstruction& d);

// The register a Zydis operand names, as an index into Vcpu::gpr, with its
// width and whether it is one of ah, ch, dh, bh. False if not a general register.
struct GprOperand {
    unsigned index = 0;
    unsigned bytes = 8;
    bool high_byte = false;
};
bool gpr_of(ZydisRegister reg, GprOperand& out);
uint64_t read_gpr(const Vcpu& vcpu, const GprOperand& r);
void write_gpr(Vcpu& vcpu, const GprOperand& r, uint64_t value);

// The effective (linear) address of a memory operand: base + index * scale +
// displacement, plus the FS or GS base; RIP-relative from the next instruction.
uint64_t effective_address(const Vcpu& vcpu, const DecodedInstruction& d, const ZydisDecodedOperand& op);

}  // namespace previrt::vmm
