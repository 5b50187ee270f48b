#include "afterburner/object_finisher.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <map>

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

}  // namespace

FinishResult finish_object(std::vector<uint8_t> object) {
    FinishResult result;
    elf::File file = elf::File::parse(object);
    SiteTable table = load_site_table(file);
    if (table.unfinished_sections.empty()) {
        result.bytes = std::move(object);
        return result;
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

    std::vector<elf::SectionEdit> edits;
    for (auto& [index, recs] : records) {
        const size_t bytes = recs.size() * sizeof(abi::SiteRecord);
        abi::SiteNoteHeader header{sizeof abi::kSiteNoteName, static_cast<uint32_t>(sizeof(abi::SiteChunkHeader) + bytes),
                                   abi::kSiteNoteType, {}, {abi::kSiteMagic, abi::kSiteFormatVersion,
                                   sizeof(abi::SiteChunkHeader), sizeof(abi::SiteRecord), 0,
                                   static_cast<uint32_t>(recs.size())}};
        std::memcpy(header.name, abi::kSiteNoteName, sizeof header.name);
        elf::SectionEdit edit{index, {}, sizeof header, 4};
        edit.contents.resize(sizeof header + bytes);
        std::memcpy(edit.contents.data(), &header, sizeof header);
        std::memcpy(edit.contents.data() + sizeof header, recs.data(), bytes);
        edits.push_back(std::move(edit));
        ++result.chunks;
    }
    result.bytes = elf::rewrite_relocatable(file, edits);
    return result;
}

FinishResult finish_object_file(const std::string& path) {
    std::vector<uint8_t> bytes;
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw FinishError(path + ": cannot open the object the assembler wrote");
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    FinishResult result;
    try {
        result = finish_object(std::move(bytes));
    } catch (const std::exception& e) {
        throw FinishError(path + ": " + e.what());
    }
    if (result.chunks) {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(result.bytes.data()), static_cast<std::streamsize>(result.bytes.size()));
        if (!out) throw FinishError(path + ": cannot write the finished object");
    }
    return result;
}

}  // namespace previrt::afterburner
