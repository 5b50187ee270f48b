#include "afterburner/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include "sites/insn_decoder.h"
#include "sites/site_table.h"

namespace previrt::afterburner {

using namespace sites;  // the catalogue, the decoder and the site records

std::vector<Trap> parse_trap_profile(std::string_view text, std::string_view file_name) {
    std::vector<Trap> traps;
    std::istringstream in{std::string(text)};
    std::string line;
    for (size_t number = 1; std::getline(in, line); ++number) {
        if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        std::istringstream fields(line);
        std::string rip, kind;
        if (!(fields >> rip)) continue;
        auto where = [&] { return fmt::format("{}:{}: ", file_name, number); };
        if (!(fields >> kind)) throw AnnotationError(where() + "expected '<rip> <kind>'");
        std::string_view digits = rip;
        if (digits.starts_with("0x") || digits.starts_with("0X")) digits.remove_prefix(2);
        Trap t;
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.rip, 16);
        if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size())
            throw AnnotationError(where() + "'" + printable(rip) + "' is not a hexadecimal address");
        t.kind = kind;
        traps.push_back(std::move(t));
    }
    return traps;
}

namespace {

const elf::Symbol* function_at(const elf::File& image, uint64_t addr) {
    for (const elf::Symbol& s : image.symbols())
        if (s.type == elf::kSttFunc && s.shndx != elf::kShnUndef && addr >= s.value && addr - s.value < s.size) return &s;
    return nullptr;
}

const elf::Section* section_at(const elf::File& image, uint64_t addr) {
    for (const elf::Section& s : image.sections())
        if ((s.flags & elf::kShfExecInstr) && s.type == elf::kShtProgbits && addr >= s.addr && addr - s.addr < s.size)
            return &s;
    return nullptr;
}

}  // namespace

ProfileResult annotate_from_profile(const elf::File& image, const std::vector<Trap>& traps) {
    ProfileResult result;
    if (image.type() == elf::kTypeRel) {
        result.errors.push_back("a trap profile names addresses of a linked image, not of an object file");
        return result;
    }
    std::set<uint64_t> recorded;
    for (const Site& s : load_site_table(image).sites)
        if (!s.is_code_mode()) recorded.insert(s.address);

    std::map<std::pair<uint64_t, std::string>, size_t> unique;  // (rip, kind) -> times seen
    for (const Trap& t : traps) ++unique[{t.rip, t.kind}];

    InsnDecoder decoder;
    for (const auto& [key, count] : unique) {
        const auto& [rip, kind] = key;
        std::string where = fmt::format("{:#x} <{}> ({} {}, {}x)", rip, image.symbolize(rip), printable(kind),
                                        kind == "mmio" || kind == "pt" ? "trap" : "exit", count);
        if (kind != "mmio" && kind != "pt") {
            result.notes.push_back(where + ": not a device-register or page-table access; nothing to annotate");
            continue;
        }
        if (recorded.contains(rip)) {
            result.notes.push_back(where + ": already a recorded site");
            continue;
        }
        const elf::Symbol* fn = function_at(image, rip);
        const elf::Section* sec = section_at(image, rip);
        if (!fn || !sec || fn->value < sec->addr) {
            result.errors.push_back(where + ": not inside a function of an executable section");
            continue;
        }
        // Count the function's instructions up to the trap, NOPs excluded, as the
        // assembler hook counts its statements.
        uint32_t ordinal = 0;
        uint64_t pos = fn->value - sec->addr;
        std::optional<DecodedInsn> d;
        while (pos < sec->size) {
            d = decoder.decode(sec->data.subspan(pos));
            if (!d) break;
            if (sec->addr + pos >= rip) break;
            if (!is_nop(*d)) ++ordinal;
            pos += d->insn.length;
        }
        if (!d || sec->addr + pos != rip) {
            result.errors.push_back(where + ": not at an instruction boundary of " + fn->name);
            continue;
        }
        Annotation a;
        a.function = fn->name;
        a.ordinal = ordinal;
        a.mnemonic = ZydisMnemonicGetString(d->insn.mnemonic);
        if (kind == "pt") {
            a.kind = SiteKind::PageTableWrite;
        } else {
            a.kind = writes_memory(*d) ? SiteKind::MmioWrite : SiteKind::MmioRead;
        }
        if (std::string why = kind_mismatch(*d, static_cast<uint8_t>(a.kind), decoder.format(*d, rip)); !why.empty()) {
            result.errors.push_back(where + ": " + why);
            continue;
        }
        result.annotations.add(std::move(a));
    }
    return result;
}

}  // namespace previrt::afterburner
