// One instruction as Zydis decodes it, in full: what the afterburner's
// decoder gives and the VMM core's emulator takes. A plain struct of Zydis's
// own types, so that the freestanding core may hold it too.
#pragma once

#include <Zydis/Zydis.h>

namespace previrt::sites {

struct DecodedInsn {
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
};

}  // namespace previrt::sites
