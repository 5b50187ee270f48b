// The backend's side of the para-virtual interface (abi/previrt/paravirt.h).
#pragma once

#include <cstdint>

#include "vmm/core/emulator.h"

namespace previrt::vmm::process {

// Writes the entry thunks into the hole: each pushes its operation and jumps
// to `entry` (previrt_pv_entry).
void write_paravirt_entries(void (*entry)());

const char* paravirt_op_name(unsigned op);

// One call: the instruction to emulate with the vCPU's registers arranged
// for it, and what to put back after. `insn` is null for a call the
// interface does not know (the guest gets #UD) unless `done`.
struct ParavirtCall {
    const DecodedInstruction* insn = nullptr;
    bool done = false;            // nothing to emulate
    bool keep_registers = true;   // restore every register but rax after
    bool result = false;          // rax holds a result
    bool msr_result = false;      // the result is edx:eax
    uint64_t saved[16] = {};
    uint64_t saved_rax = 0;
};
ParavirtCall prepare_paravirt_call(Vcpu& vcpu, unsigned op, const GuestMemory& memory);
void finish_paravirt_call(Vcpu& vcpu, const ParavirtCall& call);

}  // namespace previrt::vmm::process
