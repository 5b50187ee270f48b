#include "afterburner/inspect.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "sites/catalogue.h"
#include "sites/insn_decoder.h"

namespace previrt::afterburner {

using namespace sites;  // the catalogue, the decoder and the site records
namespace {

// The sweep for sensitive instructions without a record.
class Sweep {
public:
    Sweep(const elf::File& file, const SiteTable& table) : file_(file), table_(table) {}

    std::vector<Unrecorded> run() {
        // Each section's sites, in table order.
        by_section_.assign(file_.sections().size(), {});
        for (const Site& site : table_.sites)
            if (site.section < by_section_.size()) by_section_[site.section].push_back(&site);
        runs_of_.assign(file_.sections().size(), {});
        for (const SiteRun& run : table_.runs)
            if (run.section < runs_of_.size()) runs_of_[run.section].push_back(&run);
        for (size_t i = 0; i < file_.sections().size(); ++i) {
            const elf::Section& s = file_.sections()[i];
            if ((s.flags & elf::kShfExecInstr) && s.type == elf::kShtProgbits) sweep(i);
        }
        return std::move(found_);
    }
    size_t instructions_scanned() const { return scanned_; }

private:
    // Linear sweep from the section start, restarting at every symbol and site so
    // that data or a misaligned guess cannot hide the next function's code.
    void sweep(size_t index) {
        const elf::Section& s = file_.sections()[index];
        std::vector<std::pair<uint64_t, uint64_t>> skip;  // site offset -> site length, sorted below
        std::map<uint64_t, uint8_t> modes;   // offset -> mode from then on
        std::vector<uint64_t> anchors;
        for (const Site* site_ptr : by_section_[index]) {
            const Site& site = *site_ptr;
            if (site.is_code_mode()) {
                // A section's end gives way to what starts there.
                bool at_end = site.record.flags & abi::kCodeModeAtEnd;
                uint8_t mode = site.record.flags & abi::kSiteModeMask;
                if (!at_end) modes[site.offset] = mode;
                else modes.try_emplace(site.offset, mode);
            }
            else skip.emplace_back(site.offset, std::max<uint64_t>(site.record.site_length, 1));
            anchors.push_back(site.offset);
        }
        // One run of rising offsets is walked where it is; others join the lists.
        const SiteRun* run = runs_of_[index].size() == 1 && runs_of_[index][0]->ascending ? runs_of_[index][0] : nullptr;
        if (!run) {
            for (const SiteRun* r : runs_of_[index]) {
                for (size_t k = 0; k < r->count(); ++k) {
                    skip.emplace_back(r->offset(k), std::max<uint64_t>(r->length(k), 1));
                    anchors.push_back(r->offset(k));
                }
            }
        }
        // Of two sites at one offset, the later in the table holds.
        auto by_offset = [](const auto& a, const auto& b) { return a.first < b.first; };
        if (!std::is_sorted(skip.begin(), skip.end(), by_offset)) std::stable_sort(skip.begin(), skip.end(), by_offset);
        size_t kept = 0;
        for (size_t k = 0; k < skip.size(); ++k) {
            if (k + 1 < skip.size() && skip[k].first == skip[k + 1].first) continue;
            skip[kept++] = skip[k];
        }
        skip.resize(kept);
        // The sites' offsets come mostly in order, the symbols' after them.
        if (!std::is_sorted(anchors.begin(), anchors.end())) std::sort(anchors.begin(), anchors.end());
        const auto sites_end = static_cast<std::ptrdiff_t>(anchors.size());
        uint64_t base = file_.type() == elf::kTypeRel ? 0 : s.addr;
        for (const elf::Symbol& sym : file_.symbols()) {
            bool inside = file_.type() == elf::kTypeRel ? sym.shndx == index
                                                        : sym.shndx == index && sym.value >= base;
            if (inside && sym.type != elf::kSttSection && sym.value - base < s.size) anchors.push_back(sym.value - base);
        }
        std::sort(anchors.begin() + sites_end, anchors.end());
        std::inplace_merge(anchors.begin(), anchors.begin() + sites_end, anchors.end());

        uint64_t pos = 0;
        auto next_anchor = anchors.begin();
        auto next_skip = skip.begin();
        size_t next_run = 0;
        while (pos < s.size) {
            while (next_anchor != anchors.end() && *next_anchor < pos) ++next_anchor;
            while (next_skip != skip.end() && next_skip->first < pos) ++next_skip;
            if (next_skip != skip.end() && next_skip->first == pos) {
                pos += next_skip->second;
                continue;
            }
            uint64_t run_site = UINT64_MAX;  // the run's next site from pos on
            if (run) {
                while (next_run < run->count() && run->offset(next_run) < pos) ++next_run;
                if (next_run < run->count()) run_site = run->offset(next_run);
                if (run_site == pos) {
                    pos += std::max<uint64_t>(run->length(next_run), 1);
                    continue;
                }
            }
            uint8_t mode = file_.is64() ? abi::kSiteMode64 : abi::kSiteMode32;
            if (auto m = modes.upper_bound(pos); m != modes.begin()) mode = std::prev(m)->second;
            uint64_t limit = next_anchor != anchors.end() && *next_anchor > pos ? *next_anchor : s.size;
            limit = std::min(limit, run_site);
            const InsnDecoder& dec = decoder(mode);
            auto brief = dec.decode_brief(s.data.subspan(pos, limit - pos));
            if (!brief) {
                ++pos;
                continue;
            }
            ++scanned_;
            if (may_be_sensitive(brief->mnemonic)) {
                auto d = dec.decode(s.data.subspan(pos, limit - pos));
                if (const CatalogueEntry* e = d ? classify(*d) : nullptr)
                    found_.push_back(Unrecorded{index, pos, d->insn.length, mode, dec.format(*d, base + pos),
                                                std::string(e->name)});
            }
            pos += brief->length;
        }
    }

    const InsnDecoder& decoder(uint8_t mode) {
        auto it = decoders_.find(mode);
        if (it == decoders_.end()) it = decoders_.emplace(mode, InsnDecoder(mode)).first;
        return it->second;
    }

    const elf::File& file_;
    const SiteTable& table_;
    std::vector<std::vector<const Site*>> by_section_;
    std::vector<std::vector<const SiteRun*>> runs_of_;
    std::vector<Unrecorded> found_;
    size_t scanned_ = 0;
    std::map<uint8_t, InsnDecoder> decoders_;
};

class Inspector {
public:
    explicit Inspector(const elf::File& file) : file_(file) {}

    InspectReport run() {
        report_.table = load_site_table(file_);
        if (report_.table.unfinished_sections.size())
            add(0, 0, fmt::format("{} site section(s) were never finished by the afterburner's assembler hook",
                                   report_.table.unfinished_sections.size()));
        for (const Site& site : report_.table.sites) {
            if (site.is_code_mode()) continue;
            ++report_.counts[{file_.sections()[site.section].name, std::string(kind_name(site.record.kind))}];
            if (site.record.site_length <= site.record.insn_length) ++report_.without_room;
            check_site(site);
        }
        Sweep sweep(file_, report_.table);
        for (const Unrecorded& u : sweep.run())
            add(u.section, u.offset, fmt::format("unrecorded sensitive instruction '{}' ({})", u.text, u.kind));
        report_.instructions_scanned = sweep.instructions_scanned();
        return std::move(report_);
    }

private:
    void add(size_t section, uint64_t offset, std::string message) {
        Finding f;
        f.address = section ? file_.sections()[section].addr + offset : 0;
        f.location = section ? describe_location(file_, section, offset) : "";
        f.message = std::move(message);
        report_.findings.push_back(std::move(f));
    }

    void check_site(const Site& site) {
        const abi::SiteRecord& r = site.record;
        const elf::Section& code = file_.sections()[site.section];
        std::string label = fmt::format("site {} ({})", site.number, kind_name(r.kind));
        if (!(r.flags & abi::kSiteFinished)) {
            add(site.section, site.offset, label + ": operands were never filled in");
            return;
        }
        InsnDecoder decoder(r.flags & abi::kSiteModeMask);
        auto d = decoder.decode(code.data.subspan(site.offset, r.insn_length));
        if (!d || d->insn.length != r.insn_length) {
            add(site.section, site.offset, label + ": the recorded bytes are not one instruction");
            return;
        }
        std::string text = decoder.format(*d, site.address);
        if (std::string why = kind_mismatch(*d, r.kind, text); !why.empty()) {
            add(site.section, site.offset, label + ": " + why);
            return;
        }
        abi::SiteRecord expected = r;
        describe(*d, expected);
        if (std::memcmp(&expected, &r, sizeof r) != 0)
            add(site.section, site.offset, label + ": the recorded operands do not match '" + text + "'");
        for (uint64_t pos = r.insn_length; pos < r.site_length;) {
            auto pad = decoder.decode(code.data.subspan(site.offset + pos, r.site_length - pos));
            if (!pad || !is_nop(*pad)) {
                add(site.section, site.offset + pos, label + ": scratch space holds something other than NOPs");
                break;
            }
            pos += pad->insn.length;
        }
    }

    const elf::File& file_;
    InspectReport report_;
};

}  // namespace

InspectReport inspect(const elf::File& file) { return Inspector(file).run(); }

std::vector<Unrecorded> unrecorded_instructions(const elf::File& file, const SiteTable& table) {
    return Sweep(file, table).run();
}

std::vector<std::string> list_sites(const elf::File& file, const SiteTable& table) {
    std::vector<std::string> out;
    for (const Site& site : table.sites) {
        if (site.is_code_mode()) continue;
        const abi::SiteRecord& r = site.record;
        InsnDecoder decoder(r.flags & abi::kSiteModeMask);
        auto d = decoder.decode(file.sections()[site.section].data.subspan(site.offset, r.insn_length));
        out.push_back(fmt::format("{:5} {:<40} {:<16} {:2}/{:2}  {}", site.number,
                                  describe_location(file, site.section, site.offset), kind_name(r.kind), r.insn_length,
                                  r.site_length, d ? decoder.format(*d, site.address) : "(undecodable)"));
    }
    return out;
}

}  // namespace previrt::afterburner
