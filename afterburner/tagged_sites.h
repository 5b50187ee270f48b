// Tagged sites: how the text pass and the object finisher agree on sites that
// have no record in the assembler's text. An instruction whose bytes do not
// depend on where it stands (registers and literals for operands, 64-bit
// code) is padded with constant bytes instead of the site text: a NOP that
// carries a tag of the file's own, then NOPs to the site's length. GNU as
// copies constant bytes almost for free, where the site text costs it labels,
// a section switch and an expression per site. The finisher finds the sites
// by their padding, checks them against what the text pass tagged, and puts
// their records into one anchored chunk per code section (site_record.h),
// addressed from an ordinary record of that section.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace previrt::afterburner {

// The tag where a site has only 6 bytes of padding: nopw disp8(%rax,SIB),
// with the long tag's first two displacement bytes as SIB and displacement.
inline std::array<uint8_t, 6> short_tag_of(const std::array<uint8_t, 7>& tag) {
    return {0x66, 0x0f, 0x1f, 0x44, tag[3], tag[4]};
}

struct TaggedEncoding {
    std::vector<uint8_t> insn;     // the instruction as the assembler encodes it
    std::vector<uint8_t> padding;  // what follows it: the tag NOP (the short one in 6 bytes) first
    uint8_t kind = 0;              // abi::SiteKind, as the text pass took it
    uint8_t flags = 0;             // abi::kSite*
};

struct TaggedSites {
    std::array<uint8_t, 7> tag{};  // the tag NOP: nopl disp32(%rax), the disp32 the file's
    std::vector<TaggedEncoding> encodings;
    size_t count = 0;              // sites the text tagged
};

}  // namespace previrt::afterburner
