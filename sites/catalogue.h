// The catalogue of sensitive x86-64 instructions: the one table from which the
// assembler hook decides what to pad, the object finisher and `inspect` decide
// what a decoded instruction is, and docs/sensitive-instructions.md is written.
#pragma once

#include <Zydis/Zydis.h>

#include <array>
#include <optional>
#include <span>
#include <string_view>

#include "previrt/site_record.h"

namespace previrt::sites {

using abi::SiteKind;

// Which operand makes an instruction of a shared mnemonic (mov, push, pop, jmp,
// call, ret) sensitive.
enum class OperandRule : uint8_t {
    None,           // the mnemonic alone decides
    ControlDest,    // mov to %crN
    ControlSource,  // mov from %crN
    DebugDest,      // mov to %drN
    DebugSource,    // mov from %drN
    SregDest,       // mov to a segment register
    SregSource,     // mov from a segment register
    SregOperand,    // push/pop of a segment register
    FarBranch,      // the far form of jmp, call or ret
};

enum class Privilege : uint8_t {
    Privileged,    // faults outside ring 0: trap-and-emulate sees it, at a trap's cost
    Unprivileged,  // runs at any ring but reads or changes state a hypervisor owns:
                   // trap-and-emulate misses it or gets it wrong
};

struct CatalogueEntry {
    SiteKind kind;
    std::string_view name;        // the kind's name in reports and annotation files
    std::string_view att;         // AT&T spellings the assembler hook matches, space-separated
    std::array<ZydisMnemonic, 5> zydis;  // mnemonics the checker matches (unused slots: INVALID)
    OperandRule rule;
    Privilege privilege;
    uint8_t site_length;          // bytes of instruction plus scratch space
    std::string_view why;
};

std::span<const CatalogueEntry> catalogue();

const CatalogueEntry* find_entry(SiteKind kind);
const CatalogueEntry* find_entry(std::string_view name);  // by CatalogueEntry::name
std::string_view kind_name(uint8_t kind);
// Sites no scan finds: MmioRead, MmioWrite, PageTableWrite.
inline bool is_marked_kind(uint8_t kind) {
    return kind >= static_cast<uint8_t>(SiteKind::MmioRead) && kind != static_cast<uint8_t>(SiteKind::CodeMode);
}  // "unknown" for values outside the table

// Site lengths, in bytes. See docs/sensitive-instructions.md for the reasoning.
inline constexpr uint8_t kShortSite = 8;     // a 5-byte call, or a 7-byte RIP-relative store
inline constexpr uint8_t kOperandSite = 12;  // a call plus one argument set-up of up to 7 bytes
inline constexpr uint8_t kLongSite = 16;     // a call plus two argument set-ups
inline constexpr uint8_t kFlagsSite = 21;    // sti, pushf: the virtual-IF sequence a para-virtual kernel inlines
inline constexpr uint8_t kPopfSite = 34;     // popf: that sequence with the pop and the check for pending events

}  // namespace previrt::sites
