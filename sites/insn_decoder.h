// Zydis behind the few questions previrt asks of machine code: how long is this
// instruction, is it in the catalogue, is it a NOP, what are its operands.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "previrt/site_record.h"
#include "sites/catalogue.h"
#include "sites/decoded_insn.h"

namespace previrt::sites {

class InsnDecoder {
public:
    explicit InsnDecoder(uint8_t mode = abi::kSiteMode64);  // one of abi::kSiteMode*

    std::optional<DecodedInsn> decode(std::span<const uint8_t> bytes) const;
    // Length and mnemonic only, without operands: the fast path of a sweep.
    std::optional<ZydisDecodedInstruction> decode_brief(std::span<const uint8_t> bytes) const;
    // AT&T syntax, as objdump prints it.
    std::string format(const DecodedInsn& d, uint64_t address) const;

private:
    ZydisDecoder decoder_;
    ZydisFormatter formatter_;
    ZydisMachineMode machine_mode_;
};

// The catalogue entry the instruction falls under, or nullptr if it is not sensitive.
const CatalogueEntry* classify(const DecodedInsn& d);
// Whether an instruction with this mnemonic can be in the catalogue at all.
bool may_be_sensitive(ZydisMnemonic mnemonic);

bool is_nop(const DecodedInsn& d);

// Whether the instruction has an explicit memory operand it reads (or writes).
bool reads_memory(const DecodedInsn& d);
bool writes_memory(const DecodedInsn& d);

// Why the instruction cannot be a site of `kind` ("" if it can). Marked kinds
// need the matching memory access; Unclassified takes any catalogued instruction.
std::string kind_mismatch(const DecodedInsn& d, uint8_t kind, const std::string& text);

// Fills every field of `record` that the instruction determines: operand and
// address size, prefix flags, operands, immediate. Leaves location, lengths,
// kind and the mode/manual/profile flags alone.
void describe(const DecodedInsn& d, abi::SiteRecord& record);

}  // namespace previrt::sites
