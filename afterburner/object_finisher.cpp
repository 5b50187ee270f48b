#include "afterburner/object_finisher.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string.h>

#include "sites/catalogue.h"
#include "sites/insn_decoder.h"
#include "sites/site_table.h"
#include "elf/elf_file.h"

namespace previrt::afterburner {

using namespace sites;  // the catalogue, the decoder and the site records
namespace {

// Checks that the decoded instruction is what the record says and fills in the
// rest of the record from it.
void finish_record(const elf::File& file, Site& site) {
    abi::SiteRecord& r = site.record;
    const elf::Section& code = file.sections()[site.section];
    auto where = [&] { return describe_location(file, site.section, site.offset); };

    InsnDecoder decoder(r.flags & abi::kSiteModeMask);
    auto bytes = code.data.subspan(site.offset, r.insn_length);
    auto d = decoder.decode(bytes);
    if (!d || d->insn.length != r.insn_length)
        throw FinishError(fmt::format("{}: the {} bytes recorded as one instruction do not decode as one", where(),
                                      r.insn_length));
    if (std::string why = kind_mismatch(*d, r.kind, decoder.format(*d, site.offset)); !why.empty())
        throw FinishError(where() + ": " + why);
    if (r.kind == static_cast<uint8_t>(SiteKind::Unclassified)) r.kind = static_cast<uint8_t>(classify(*d)->kind);
    describe(*d, r);
    r.flags |= abi::kSiteFinished;
}

std::vector<uint8_t> note_header(uint32_t record_count, uint16_t record_size, uint16_t flags) {
    abi::SiteNoteHeader header{sizeof abi::kSiteNoteName,
                               static_cast<uint32_t>(sizeof(abi::SiteChunkHeader) + size_t{record_count} * record_size),
                               abi::kSiteNoteType, {}, {abi::kSiteMagic, abi::kSiteFormatVersion,
                               sizeof(abi::SiteChunkHeader), record_size, flags, record_count, 0, 0}};
    std::memcpy(header.name, abi::kSiteNoteName, sizeof header.name);
    std::vector<uint8_t> out(sizeof header);
    std::memcpy(out.data(), &header, sizeof header);
    return out;
}

// The finished record every site of one tagged encoding starts from.
abi::SiteRecord tagged_template(const TaggedEncoding& e) {
    InsnDecoder decoder(e.flags & abi::kSiteModeMask);
    auto d = decoder.decode(e.insn);
    if (!d || d->insn.length != e.insn.size() || e.insn.size() + e.padding.size() > 255)
        throw TaggedSitesMismatch("a tagged encoding is not one instruction");
    if (std::string why = kind_mismatch(*d, e.kind, decoder.format(*d, 0)); !why.empty())
        throw TaggedSitesMismatch("a tagged encoding: " + why);
    abi::SiteRecord r{};
    r.insn_length = static_cast<uint8_t>(e.insn.size());
    r.site_length = static_cast<uint8_t>(e.insn.size() + e.padding.size());
    r.kind = e.kind == static_cast<uint8_t>(SiteKind::Unclassified) ? static_cast<uint8_t>(classify(*d)->kind) : e.kind;
    r.flags = static_cast<uint8_t>(e.flags | abi::kSiteFinished);
    describe(*d, r);
    return r;
}

// The anchored chunks of the tagged sites, one per code section, appended to
// `edit` (the site section `notes`, without a group) with a relocation each
// for its anchor: the location of an ordinary record of that section.
size_t add_tagged_chunks(const elf::File& file, const SiteTable& table, size_t notes, const TaggedSites& tagged,
                         elf::SectionEdit& edit) {
    std::vector<abi::SiteRecord> templates;
    for (const TaggedEncoding& e : tagged.encodings) templates.push_back(tagged_template(e));

    // Anchors: the first ordinary record of each section, and its relocation.
    std::map<uint64_t, elf::Relocation> relocations;
    for (const elf::Relocation& r : file.relocations_for(notes)) relocations[r.offset] = r;
    std::map<size_t, std::pair<uint64_t, elf::Relocation>> anchors;  // section -> (offset, relocation)
    for (const Site& site : table.sites) {
        if (site.table_section != notes || anchors.contains(site.section)) continue;
        auto it = relocations.find(site.record_offset);
        if (it != relocations.end() && it->second.type == elf::kR_X86_64_PC32)
            anchors.emplace(site.section, std::make_pair(site.offset, it->second));
    }

    const std::array<uint8_t, 6> short_tag = short_tag_of(tagged.tag);
    // Calls found(offset of the instruction, encoding) for each tagged site of
    // the section, in order.
    auto scan = [&](size_t i, const auto& found) {
        const elf::Section& code = file.sections()[i];
        const uint8_t* begin = code.data.data();
        const uint8_t* end = begin + code.data.size();
        // The next of either tag from p on (end where there is none).
        auto next = [end](const uint8_t* from, const uint8_t* what, size_t n) {
            auto* hit = static_cast<const uint8_t*>(memmem(from, static_cast<size_t>(end - from), what, n));
            return hit ? hit : end;
        };
        const uint8_t* next_long = next(begin, tagged.tag.data(), tagged.tag.size());
        const uint8_t* next_short = next(begin, short_tag.data(), short_tag.size());
        for (const uint8_t* p = begin;;) {
            if (next_long < p) next_long = next(p, tagged.tag.data(), tagged.tag.size());
            if (next_short < p) next_short = next(p, short_tag.data(), short_tag.size());
            p = std::min(next_long, next_short);
            if (p == end) break;
            const TaggedEncoding* match = nullptr;
            size_t which = 0;
            for (size_t k = 0; k < tagged.encodings.size(); ++k) {
                const TaggedEncoding& e = tagged.encodings[k];
                if (static_cast<size_t>(p - begin) < e.insn.size() || static_cast<size_t>(end - p) < e.padding.size() ||
                    !std::equal(e.insn.begin(), e.insn.end(), p - e.insn.size()) ||
                    !std::equal(e.padding.begin(), e.padding.end(), p))
                    continue;
                if (match && (match->insn != e.insn || match->padding != e.padding))
                    throw TaggedSitesMismatch(describe_location(file, i, uint64_t(p - begin)) +
                                              ": a tag that two encodings match");
                if (!match) match = &e, which = k;
            }
            if (!match)
                throw TaggedSitesMismatch(describe_location(file, i, uint64_t(p - begin)) +
                                          ": a tag after bytes of no tagged encoding");
            found(static_cast<uint64_t>(p - begin) - match->insn.size(), which);
            p += match->padding.size();
        }
    };

    size_t found = 0, chunks = 0;
    const auto& sections = file.sections();
    for (size_t i = 0; i < sections.size(); ++i) {
        const elf::Section& code = sections[i];
        if (!(code.flags & elf::kShfExecInstr) || code.type != elf::kShtProgbits) continue;
        // First how many, and whether short records hold them all; then the
        // records, straight into the note.
        size_t count = 0;
        bool all_short = true;
        scan(i, [&](uint64_t, size_t which) {
            ++count;
            all_short = all_short && templates[which].operand_count == 0 && templates[which].immediate == 0;
        });
        if (count == 0) continue;
        auto a = anchors.find(i);
        if (a == anchors.end()) throw TaggedSitesMismatch(code.name + ": tagged sites but no ordinary record to anchor them");
        const uint64_t anchor = a->second.first;
        const uint16_t size = all_short ? abi::kShortSiteRecordSize : sizeof(abi::SiteRecord);
        std::vector<uint8_t> header = note_header(static_cast<uint32_t>(count), size, abi::kChunkAnchored);
        elf::Relocation reloc = a->second.second;
        reloc.offset = edit.contents.size() + 20 + __builtin_offsetof(abi::SiteChunkHeader, anchor_offset);
        edit.added_relocations.push_back(reloc);
        edit.contents.reserve(edit.contents.size() + header.size() + count * size);
        edit.contents.insert(edit.contents.end(), header.begin(), header.end());
        size_t written = 0;
        scan(i, [&](uint64_t at, size_t which) {
            abi::SiteRecord r = templates[which];
            int64_t delta = static_cast<int64_t>(at) - static_cast<int64_t>(anchor);
            if (delta < INT32_MIN || delta > INT32_MAX) throw TaggedSitesMismatch(code.name + ": too large to anchor");
            r.insn_offset = static_cast<int32_t>(delta);
            const auto* bytes = reinterpret_cast<const uint8_t*>(&r);
            edit.contents.insert(edit.contents.end(), bytes, bytes + size);
            ++written;
        });
        if (written != count) throw TaggedSitesMismatch(code.name + ": the tagged sites changed between two scans");
        found += count;
        ++chunks;
    }
    if (found != tagged.count)
        throw TaggedSitesMismatch(fmt::format("{} tagged sites in the object, {} in the text", found, tagged.count));
    return chunks;
}


// The object, and the edits that finish it (none: it is finished already).
struct Finishing {
    elf::File file;
    std::vector<elf::SectionEdit> edits;
    FinishResult result;
};

Finishing finish(std::vector<uint8_t> object, const TaggedSites* tagged) {
    Finishing f{elf::File::parse(std::move(object)), {}, {}};
    const elf::File& file = f.file;
    FinishResult& result = f.result;
    SiteTable table = load_site_table(file);
    if (tagged && tagged->count == 0) tagged = nullptr;
    if (table.unfinished_sections.empty()) {
        if (tagged) throw TaggedSitesMismatch("tagged sites but no site section");
        return f;
    }

    // The sections still holding the records as assembled (the others'
    // records are in notes already).
    std::map<size_t, std::vector<abi::SiteRecord>> records;  // by site section, in order
    for (Site& site : table.sites) {
        if (std::find(table.unfinished_sections.begin(), table.unfinished_sections.end(), site.table_section) ==
            table.unfinished_sections.end())
            continue;
        if (!site.is_code_mode()) {
            finish_record(file, site);
            ++result.sites;
        }
        records[site.table_section].push_back(site.record);
    }

    std::vector<elf::SectionEdit>& edits = f.edits;
    std::optional<size_t> anchored;  // the edit that takes the tagged sites' chunks
    for (auto& [index, recs] : records) {
        const size_t bytes = recs.size() * sizeof(abi::SiteRecord);
        std::vector<uint8_t> header =
            note_header(static_cast<uint32_t>(recs.size()), sizeof(abi::SiteRecord), 0);
        elf::SectionEdit edit{index, std::move(header), sizeof(abi::SiteNoteHeader), 4, {}};
        edit.contents.resize(sizeof(abi::SiteNoteHeader) + bytes);
        std::memcpy(edit.contents.data() + sizeof(abi::SiteNoteHeader), recs.data(), bytes);
        if (!(file.sections()[index].flags & elf::kShfGroup) && !anchored) anchored = edits.size();
        edits.push_back(std::move(edit));
        ++result.chunks;
    }
    if (tagged) {
        if (!anchored) throw TaggedSitesMismatch("tagged sites but no site section outside a group");
        elf::SectionEdit& edit = edits[*anchored];
        result.chunks += add_tagged_chunks(file, table, edit.index, *tagged, edit);
        result.sites += tagged->count;
    }
    return f;
}

}  // namespace

FinishResult finish_object(std::vector<uint8_t> object, const TaggedSites* tagged) {
    Finishing f = finish(std::move(object), tagged);
    f.result.bytes = f.edits.empty() ? f.file.bytes() : elf::rewrite_relocatable(f.file, f.edits);
    return f.result;
}

FinishResult finish_object_file(const std::string& path, const TaggedSites* tagged) {
    std::vector<uint8_t> bytes;
    {
        std::ifstream in(path, std::ios::binary | std::ios::ate);
        if (!in) throw FinishError(path + ": cannot open the object the assembler wrote");
        bytes.resize(static_cast<size_t>(in.tellg()));
        in.seekg(0);
        if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
            throw FinishError(path + ": cannot read the object the assembler wrote");
    }
    std::optional<Finishing> f;
    try {
        f = finish(std::move(bytes), tagged);
    } catch (const TaggedSitesMismatch&) {
        throw;
    } catch (const std::exception& e) {
        throw FinishError(path + ": " + e.what());
    }
    if (!f->edits.empty()) {
        // Written as it is laid out: the finished object is never whole in memory.
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        try {
            elf::rewrite_relocatable(f->file, f->edits, [&out](std::span<const uint8_t> piece) {
                out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(piece.size()));
            });
        } catch (const std::exception& e) {
            throw FinishError(path + ": " + e.what());
        }
        if (!out) throw FinishError(path + ": cannot write the finished object");
    }
    return f->result;
}

}  // namespace previrt::afterburner
