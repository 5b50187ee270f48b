#include "vmm/sites/site_check.h"

#include <fmt/format.h>

#include <cstring>

#include "sites/catalogue.h"

namespace previrt::vmm {

sites::SiteTable load_sites(const elf::File& image) {
    try {
        return sites::load_site_table(image);
    } catch (const sites::SiteTableError& e) {
        throw SiteError(e.what());
    }
}

std::vector<CheckedSite> check_sites(const elf::File& image, const sites::SiteTable& table, const uint8_t* code,
                                     uint64_t code_base, uint64_t code_size) {
    std::vector<CheckedSite> out;
    for (const auto& s : table.sites) {
        if (s.is_code_mode()) continue;
        const abi::SiteRecord& r = s.record;
        std::string where = fmt::format("site {} ({})", s.number, sites::describe_location(image, s.section, s.offset));
        if (s.address < code_base || s.address - code_base > code_size || r.site_length > code_size - (s.address - code_base) ||
            r.insn_length == 0 || r.insn_length > r.site_length)
            throw SiteError(fmt::format("{}: the record points outside the loaded image", where));
        const uint8_t* p = code + (s.address - code_base);
        uint8_t mode = r.flags & abi::kSiteModeMask;
        sites::InsnDecoder decoder(mode);
        auto d = decoder.decode({p, r.site_length});
        if (!d || d->insn.length != r.insn_length)
            throw SiteError(fmt::format("{}: the bytes there are not a {}-byte instruction", where, r.insn_length));
        std::string text = decoder.format(*d, s.address);
        std::string mismatch = sites::kind_mismatch(*d, r.kind, text);
        if (!mismatch.empty()) throw SiteError(fmt::format("{}: {}", where, mismatch));
        for (size_t at = r.insn_length; at < r.site_length;) {
            auto nop = decoder.decode({p + at, r.site_length - at});
            if (!nop || !sites::is_nop(*nop))
                throw SiteError(fmt::format("{}: the scratch space after '{}' is not all NOPs", where, text));
            at += nop->insn.length;
        }
        out.push_back({&s, *d, std::move(text), mode == abi::kSiteMode64});
    }
    return out;
}

void fill_nops(uint8_t* p, size_t n) {
    static const uint8_t kNops[9][9] = {
        {0x90},
        {0x66, 0x90},
        {0x0f, 0x1f, 0x00},
        {0x0f, 0x1f, 0x40, 0x00},
        {0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
        {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    };
    while (n) {
        size_t k = n > 9 ? 9 : n;
        std::memcpy(p, kNops[k - 1], k);
        p += k;
        n -= k;
    }
}

void put_rel32(uint8_t* p, uint64_t from_next, uint64_t to) {
    int64_t rel = static_cast<int64_t>(to - from_next);
    if (rel != static_cast<int32_t>(rel))
        throw SiteError(fmt::format("site at {:#x} is too far from the in-place VMM", from_next));
    int32_t r = static_cast<int32_t>(rel);
    std::memcpy(p, &r, 4);
}

}  // namespace previrt::vmm
