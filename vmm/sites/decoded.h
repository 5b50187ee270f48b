// The afterburner's decoder and the core's emulator hold a decoded
// instruction in the same two Zydis structures (the core has its own type so
// that it depends on nothing of the build-time tools); these move one into
// the other.
#pragma once

#include <cstring>

#include "afterburner/insn_decoder.h"
#include "vmm/core/emulator.h"

namespace previrt::vmm {

inline DecodedInstruction to_core(const afterburner::DecodedInsn& d) {
    DecodedInstruction r;
    std::memcpy(&r.insn, &d.insn, sizeof r.insn);
    std::memcpy(r.operands, d.operands, sizeof r.operands);
    return r;
}

inline afterburner::DecodedInsn to_afterburner(const DecodedInstruction& d) {
    afterburner::DecodedInsn r;
    std::memcpy(&r.insn, &d.insn, sizeof r.insn);
    std::memcpy(r.operands, d.operands, sizeof r.operands);
    return r;
}

}  // namespace previrt::vmm
