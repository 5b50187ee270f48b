#include "sites/site_table.h"

#include <cstring>
#include <fmt/format.h>
#include <map>
#include <optional>

namespace previrt::sites {
namespace {

template <typename T>
T read(std::span<const uint8_t> data, uint64_t offset) {
    T value;
    std::memcpy(&value, data.data() + offset, sizeof value);
    return value;
}

struct Target {
    size_t section;
    uint64_t offset;
    uint64_t address;
};

class Loader {
public:
    Loader(const elf::File& file, bool anchored_in_place) : file_(file), anchored_in_place_(anchored_in_place) {
        relocatable_ = file.type() == elf::kTypeRel;
    }

    SiteTable run() {
        const auto& sections = file_.sections();
        for (size_t i = 0; i < sections.size(); ++i) {
            // An object's records are in their own section; a linked image
            // may have them in any note section (Linux's .notes).
            bool ours = sections[i].name == abi::kSiteSectionName;
            if (ours || (!relocatable_ && sections[i].type == elf::kShtNote)) load_section(i, ours);
        }
        return std::move(table_);
    }

private:
    [[noreturn]] void fail(size_t section, uint64_t offset, const std::string& what) const {
        throw SiteTableError(fmt::format("{} section {} at offset {:#x}: {}", file_.sections()[section].name, section,
                                         offset, what));
    }

    static bool is_site_note(const elf::Note& n) {
        return n.name == abi::kSiteNoteName && n.type == abi::kSiteNoteType;
    }

    // Whether the section starts with a site note's header; an object's
    // section that does not holds the records as the assembler wrote them.
    static bool starts_with_site_note(std::span<const uint8_t> data) {
        if (data.size() < sizeof(abi::SiteNoteHeader)) return false;
        auto h = read<abi::SiteNoteHeader>(data, 0);
        return h.namesz == sizeof abi::kSiteNoteName && h.type == abi::kSiteNoteType &&
               std::memcmp(h.name, abi::kSiteNoteName, sizeof h.name) == 0;
    }

    void load_section(size_t index, bool ours) {
        const elf::Section& sec = file_.sections()[index];
        if (sec.type != elf::kShtNote) fail(index, 0, "is not a note section");
        bool x86_64 = file_.is64() && file_.machine() == elf::kMachineX86_64;
        bool i386 = !file_.is64() && file_.machine() == elf::kMachine386;
        std::span<const uint8_t> data = sec.data;
        if (relocatable_) relocations_ = load_relocations(index);

        if (ours && !data.empty() && !starts_with_site_note(data)) {
            if (!relocatable_) fail(index, 0, "no site note: the objects were not finished by the afterburner");
            if (!x86_64 && !i386) fail(index, 0, "site tables are defined for x86-64 and i386 ELF files only");
            table_.unfinished_sections.push_back(index);
            if (data.size() % sizeof(abi::SiteRecord) != 0)
                fail(index, 0, fmt::format("size {:#x} is not a whole number of records", data.size()));
            load_records(index, 0, data.size() / sizeof(abi::SiteRecord));
            return;
        }
        std::vector<elf::Note> notes;
        try {
            notes = elf::parse_notes(sec);
        } catch (const elf::Error& e) {
            throw SiteTableError(e.what());
        }
        for (const elf::Note& note : notes) {
            if (!is_site_note(note)) {
                if (ours) fail(index, note.offset, "holds a note that is not a site note");
                continue;
            }
            if (!x86_64 && !i386) fail(index, 0, "site tables are defined for x86-64 and i386 ELF files only");
            load_chunk(index, note);
        }
    }

    void load_chunk(size_t index, const elf::Note& note) {
        uint64_t pos = note.desc_offset;
        if (note.desc.size() < sizeof(abi::SiteChunkHeader)) fail(index, pos, "truncated chunk header");
        auto header = read<abi::SiteChunkHeader>(note.desc, 0);
        if (header.magic != abi::kSiteMagic) fail(index, pos, "bad chunk magic");
        if (header.version != abi::kSiteFormatVersion)
            fail(index, pos, fmt::format("format version {} (this previrt reads version {})", header.version,
                                         abi::kSiteFormatVersion));
        if (header.header_size != sizeof(abi::SiteChunkHeader) ||
            (header.record_size != sizeof(abi::SiteRecord) && header.record_size != abi::kShortSiteRecordSize))
            fail(index, pos, fmt::format("header size {} / record size {} do not match version {}",
                                         header.header_size, header.record_size, header.version));
        if (header.reserved != 0)
            fail(index, pos, fmt::format("chunk header's reserved field is {:#x}, not 0", header.reserved));
        if (header.flags & ~abi::kChunkAnchored)
            fail(index, pos, fmt::format("chunk header has undefined flags {:#x}", header.flags));
        bool anchored = header.flags & abi::kChunkAnchored;
        if (!anchored && header.anchor_offset != 0)
            fail(index, pos, fmt::format("chunk has an anchor offset {:#x} but no anchor", header.anchor_offset));
        uint64_t records = (note.desc.size() - sizeof header) / header.record_size;
        if (header.record_count != records || (note.desc.size() - sizeof header) % header.record_size)
            fail(index, pos, fmt::format("{} records do not fill the note's {}-byte descriptor", header.record_count,
                                         note.desc.size()));
        std::optional<Target> anchor;
        if (anchored) {
            uint64_t field = pos + __builtin_offsetof(abi::SiteChunkHeader, anchor_offset);
            if (relocatable_) {
                anchor = target_by_relocation(index, field);
            } else {
                uint64_t address = file_.sections()[index].addr + field +
                                   static_cast<uint64_t>(static_cast<int64_t>(header.anchor_offset));
                anchor = Target{0, 0, address};
            }
        }
        load_records(index, pos + sizeof header, header.record_count, header.record_size, anchor);
        ++table_.chunks;
    }

    std::map<uint64_t, elf::Relocation> load_relocations(size_t index) const {
        std::map<uint64_t, elf::Relocation> out;
        for (const elf::Relocation& r : file_.relocations_for(index)) out[r.offset] = r;
        return out;
    }

    // `anchor`: the chunk's anchor, for records placed from it (in an object
    // its section and offset; in a linked image its address).
    void load_records(size_t index, uint64_t pos, uint64_t count, uint16_t record_size = sizeof(abi::SiteRecord),
                      std::optional<Target> anchor = std::nullopt) {
        const elf::Section& sec = file_.sections()[index];
        // An object's anchored chunk of instruction sites may stay in place.
        std::optional<SiteRun> run;
        if (anchor && anchored_in_place_ && relocatable_) {
            run = SiteRun{anchor->section, anchor->offset, sec.data.subspan(pos, count * record_size), record_size};
            for (uint64_t k = 0; k < count && run; ++k)
                if (sec.data[pos + k * record_size + 6] == static_cast<uint8_t>(abi::SiteKind::CodeMode)) run.reset();
        }
        if (!run) table_.sites.reserve(table_.sites.size() + count);
        uint64_t last = 0;
        for (uint64_t k = 0; k < count; ++k, pos += record_size) {
            Site site;
            site.table_section = index;
            site.record_offset = pos;
            site.number = table_.sites.size();
            std::memcpy(&site.record, sec.data.data() + pos, record_size);
            // abi/previrt/site_record.h defines three code modes; a fourth
            // would be decoded as one of them, and rewritten wrongly.
            if ((site.record.flags & abi::kSiteModeMask) > abi::kSiteMode16)
                fail(index, pos, fmt::format("site {} has code mode {}, which is undefined (0: 64-bit, 1: 32-bit, "
                                             "2: 16-bit)", site.number, site.record.flags & abi::kSiteModeMask));
            if (site.record.reserved != 0)
                fail(index, pos, fmt::format("site {} has its reserved byte {:#x}, not 0", site.number,
                                             site.record.reserved));
            if (record_size < sizeof(abi::SiteRecord) && site.record.operand_count != 0)
                fail(index, pos, fmt::format("site {} has {} operands in a short record, which holds none",
                                             site.number, site.record.operand_count));
            Target t = anchor ? target_from_anchor(index, pos, *anchor, site.record)
                       : relocatable_ ? target_by_relocation(index, pos)
                                      : target_by_address(index, pos, site.record);
            site.section = t.section;
            site.offset = t.offset;
            site.address = t.address;
            const elf::Section& code = file_.sections()[t.section];
            if (!site.is_code_mode() && (site.record.insn_length == 0 ||
                                         site.record.site_length < site.record.insn_length ||
                                         t.offset + site.record.site_length > code.data.size()))
                fail(index, pos, fmt::format("site {} has lengths {}/{} that do not fit in {}", site.number,
                                             site.record.insn_length, site.record.site_length, code.name));
            if (!run) {
                table_.sites.push_back(site);
                continue;
            }
            if (k > 0 && site.offset <= last) run->ascending = false;
            last = site.offset;
        }
        if (run) table_.runs.push_back(*run);
    }

    Target target_from_anchor(size_t index, uint64_t pos, const Target& anchor, const abi::SiteRecord& record) const {
        int64_t delta = record.insn_offset;
        if (!relocatable_) return target_at(index, pos, anchor.address + static_cast<uint64_t>(delta), record);
        // In an object an anchor's records lie in the anchor's own section.
        uint64_t offset = anchor.offset + static_cast<uint64_t>(delta);
        if ((delta < 0 && static_cast<uint64_t>(-delta) > anchor.offset) ||
            offset > file_.sections()[anchor.section].size)
            fail(index, pos, "record's location lies outside its anchor's section");
        return {anchor.section, offset, offset};
    }

    Target target_by_relocation(size_t index, uint64_t pos) const {
        auto it = relocations_.find(pos);
        // R_X86_64_PC32 and R_386_PC32 share the number 2.
        if (it == relocations_.end() || it->second.type != elf::kR_X86_64_PC32)
            fail(index, pos, "record has no PC-relative relocation for its location");
        const elf::Symbol& sym = file_.symbols().at(it->second.symbol);
        if (sym.shndx == elf::kShnUndef || sym.shndx >= file_.sections().size())
            fail(index, pos, "record's location is not in a section of this object");
        uint64_t offset = sym.value + static_cast<uint64_t>(it->second.addend);
        if (offset > file_.sections()[sym.shndx].size)
            fail(index, pos, "record's location lies outside its section");
        return {sym.shndx, offset, offset};
    }

    Target target_by_address(size_t index, uint64_t pos, const abi::SiteRecord& record) const {
        const elf::Section& table = file_.sections()[index];
        uint64_t address = table.addr + pos + static_cast<uint64_t>(static_cast<int64_t>(record.insn_offset));
        return target_at(index, pos, address, record);
    }

    Target target_at(size_t index, uint64_t pos, uint64_t address, const abi::SiteRecord& record) const {
        const auto& sections = file_.sections();
        // A location one past a section's last byte is that section's only
        // for a code-mode record, and for one where another section starts
        // only if it ends a section's mode (kCodeModeAtEnd): the mode of
        // the code that starts there is that section's.
        bool at_end = record.kind == static_cast<uint8_t>(abi::SiteKind::CodeMode) &&
                      (record.flags & abi::kCodeModeAtEnd);
        std::optional<Target> inside, ending;
        for (size_t i = 0; i < sections.size(); ++i) {
            const elf::Section& s = sections[i];
            if (!(s.flags & elf::kShfAlloc) || s.type == elf::kShtNobits || address < s.addr ||
                address - s.addr > s.size)
                continue;
            Target t{i, address - s.addr, address};
            if (address - s.addr < s.size) {
                if (!inside) inside = t;
            } else if (!record.insn_length && !ending) {
                ending = t;
            }
        }
        if (at_end && ending) return *ending;
        if (inside) return *inside;
        if (ending) return *ending;
        fail(index, pos, fmt::format("record points to {:#x}, which no section holds", address));
    }

    const elf::File& file_;
    bool anchored_in_place_ = false;
    bool relocatable_ = false;
    std::map<uint64_t, elf::Relocation> relocations_;
    SiteTable table_;
};

}  // namespace

SiteTable load_site_table(const elf::File& file, bool anchored_in_place) {
    return Loader(file, anchored_in_place).run();
}

std::string describe_location(const elf::File& file, size_t section, uint64_t offset) {
    const elf::Section& s = file.sections().at(section);
    std::string where = fmt::format("{}+{:#x}", s.name, offset);
    std::string symbol;
    if (file.type() == elf::kTypeRel) {
        const elf::Symbol* best = nullptr;
        for (const elf::Symbol& sym : file.symbols()) {
            if (sym.shndx == section && !sym.name.empty() && sym.type != elf::kSttSection && sym.value <= offset &&
                (!best || sym.value > best->value))
                best = &sym;
        }
        if (best) symbol = offset == best->value ? best->name : fmt::format("{}+{:#x}", best->name, offset - best->value);
    } else {
        symbol = file.symbolize(s.addr + offset);
        where = fmt::format("{:#x}", s.addr + offset);
    }
    return symbol.empty() ? where : where + " <" + symbol + ">";
}

}  // namespace previrt::sites
