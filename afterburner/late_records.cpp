#include "afterburner/late_records.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "previrt/site_record.h"
#include "sites/site_table.h"

namespace previrt::afterburner {
namespace {

using sites::describe_location;

constexpr uint32_t kGrpComdat = 1;  // SHT_GROUP's flag word (System V gABI, "Section Groups")

// The group section `index` belongs to, as the directive's tail
// (",SIGNATURE,comdat"); "" if none; nullopt if it cannot be written again.
std::optional<std::string> group_of(const elf::File& f, size_t index) {
    for (const elf::Section& g : f.sections()) {
        if (g.type != elf::kShtGroup || g.data.size() < 4 || g.data.size() % 4) continue;
        uint32_t words = uint32_t(g.data.size() / 4);
        for (uint32_t w = 1; w < words; ++w) {
            uint32_t member;
            std::memcpy(&member, g.data.data() + 4 * w, 4);
            if (member != index) continue;
            uint32_t flags;
            std::memcpy(&flags, g.data.data(), 4);
            if (g.info >= f.symbols().size()) return std::nullopt;
            const std::string& signature = f.symbols()[g.info].name;
            if (signature.empty() || signature.find_first_of(",\"\\ \t\n") != std::string::npos) return std::nullopt;
            return "," + signature + ((flags & kGrpComdat) ? ",comdat" : "");
        }
    }
    return "";
}

// `.pushsection` naming section `index` of the object as its source did, or
// nullopt where that cannot be done without doubt: a name another section
// shares, one a directive cannot spell, flags beyond a code section's.
std::optional<std::string> push_section(const elf::File& f, size_t index) {
    const elf::Section& s = f.sections()[index];
    if (s.name.empty() || s.name.find_first_of(",\"\\ \t\n;#") != std::string::npos) return std::nullopt;
    for (size_t i = 0; i < f.sections().size(); ++i)
        if (i != index && f.sections()[i].name == s.name) return std::nullopt;
    constexpr uint64_t kKnown = elf::kShfWrite | elf::kShfAlloc | elf::kShfExecInstr | elf::kShfGroup;
    if (s.flags & ~kKnown) return std::nullopt;
    std::string flags;
    if (s.flags & elf::kShfAlloc) flags += 'a';
    if (s.flags & elf::kShfWrite) flags += 'w';
    if (s.flags & elf::kShfExecInstr) flags += 'x';
    std::string tail;
    if (s.flags & elf::kShfGroup) {
        std::optional<std::string> group = group_of(f, index);
        if (!group || group->empty()) return std::nullopt;
        flags += 'G';
        tail = *group;
    }
    return fmt::format(".pushsection {},\"{}\",@progbits{}\n", s.name, flags, tail);
}

}  // namespace

std::vector<size_t> mode_resets_needed(const elf::File& object, const sites::SiteTable& table) {
    uint8_t own = object.is64() ? abi::kSiteMode64 : abi::kSiteMode32;
    std::map<size_t, std::pair<uint64_t, uint8_t>> last;  // section -> (offset, mode) of its last code-mode record
    for (const sites::Site& site : table.sites) {
        if (!site.is_code_mode()) continue;
        auto [it, added] = last.try_emplace(site.section, site.offset, site.record.flags & abi::kSiteModeMask);
        if (!added && site.offset >= it->second.first)
            it->second = {site.offset, uint8_t(site.record.flags & abi::kSiteModeMask)};
    }
    std::vector<size_t> out;
    for (const auto& [section, at] : last)
        if (at.second != own && at.first < object.sections()[section].size) out.push_back(section);
    return out;
}

LateRecords late_records(const elf::File& object, const std::vector<Unrecorded>& missed,
                         const std::vector<size_t>& mode_resets) {
    LateRecords out;
    uint8_t own = object.is64() ? abi::kSiteMode64 : abi::kSiteMode32;
    std::map<size_t, std::vector<const Unrecorded*>> by_section;
    for (const Unrecorded& u : missed) by_section[u.section].push_back(&u);
    for (size_t index : mode_resets) by_section.try_emplace(index);
    for (const auto& [index, list] : by_section) {
        const elf::Section& s = object.sections()[index];
        std::optional<std::string> push = push_section(object, index);
        for (const Unrecorded* u : list) {
            std::string where = describe_location(object, index, u->offset);
            out.notes.push_back(push ? fmt::format("{}: '{}' recorded without room: the text held it where the hook "
                                                   "could not pad it (a macro's expansion or argument)", where, u->text)
                                     : fmt::format("{}: '{}' left unrecorded: its section cannot be named again "
                                                   "in a directive", where, u->text));
        }
        bool reset = std::find(mode_resets.begin(), mode_resets.end(), index) != mode_resets.end();
        if (!push) {
            if (reset) out.notes.push_back(s.name + ": left in another code mode at its end: its section cannot be "
                                                    "named again in a directive");
            continue;
        }
        // The label at the section's end, then the records from it (the
        // record section takes the code section's group through "?").
        std::string end = fmt::format(".Lprevirt_late_end_{}", index);
        out.text += *push + ".set " + end + ", .\n.pushsection " + abi::kSiteSectionName + ",\"a?\",@note\n";
        for (const Unrecorded* u : list) {
            out.text += fmt::format(".long ({} - {:#x}) - .\n.byte {}, {}, {}, {}\n.zero 24\n", end,
                                    s.size - u->offset, u->length, u->length,
                                    static_cast<unsigned>(abi::SiteKind::Unclassified), u->mode);
            ++out.sites;
        }
        if (reset) {
            out.text += fmt::format(".long {} - .\n.byte 0, 0, {}, {}\n.zero 24\n", end,
                                    static_cast<unsigned>(abi::SiteKind::CodeMode), own | abi::kCodeModeAtEnd);
            ++out.mode_resets;
        }
        out.text += ".popsection\n.popsection\n";
    }
    return out;
}

}  // namespace previrt::afterburner
