// The assembler hook's text pass: finds every sensitive instruction in GNU as
// source, wraps it in site text (abi/previrt/site_asm.h) that pads it with NOPs
// and records it, and leaves everything else byte for byte as it was. All
// inserted text goes on the instruction's own line, so the assembler's line
// numbers, error messages and debug information stay those of the original.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "previrt/site_record.h"
#include "afterburner/annotations.h"
#include "afterburner/tagged_sites.h"

namespace previrt::afterburner {

// Tagging (tagged_sites.h), for a 64-bit target: `encode` assembles each of
// the instruction texts alone and gives its bytes, or nothing where it cannot
// (it is called with a few texts at a time, and must answer a text the same
// way every time).
struct Tagging {
    std::array<uint8_t, 7> tag{};
    // A source with fewer sites that qualify is not tagged: the assembly that
    // learns the encodings costs more than the site text saves there.
    size_t min_sites = 256;
    std::function<std::vector<std::optional<std::vector<uint8_t>>>(const std::vector<std::string>&)> encode;
};

struct RewriteOptions {
    std::string file_name = "<stdin>";       // for messages
    uint8_t initial_mode = abi::kSiteMode64;  // as --32 starts in 32-bit mode; its objects are
                                              // padded with single-byte NOPs throughout
    const Annotations* annotations = nullptr;
    // False: every site recorded without scratch space (the hook's second try
    // where padding broke a layout the source fixes).
    bool pad = true;
    // Sites that qualify are tagged instead of wrapped in the site text.
    const Tagging* tagging = nullptr;
    // Where the text goes, a part at a time as it is made (RewriteResult::text
    // stays empty); unset, it is all in RewriteResult::text.
    std::function<void(std::string_view)> sink;
};

struct RewriteResult {
    std::string text;
    std::map<abi::SiteKind, size_t> sites;  // by kind, each expansion of a macro body counted once
    std::vector<std::string> warnings;      // "file:line: ..." for the user
    size_t site_count = 0;                  // each expansion of a macro body counted once
    std::vector<std::string> places;        // without padding: "file:line: mnemonic" of each site, in order
    size_t annotations_applied = 0;
    TaggedSites tagged;                     // what the finisher is to find
};

// The constant padding of a tagged site (at least 6 bytes): the tag NOP (the
// short tag in 6 bytes), then NOPs up to `length` bytes.
std::vector<uint8_t> tagged_padding(const std::array<uint8_t, 7>& tag, size_t length);

RewriteResult rewrite(std::string_view source, const RewriteOptions& options);


// The site text for one instruction: what goes before it, and what goes after.
std::string site_begin_text();
// Multi-byte NOPs for 64-bit code of a 64-bit target, single-byte ones elsewhere.
std::string site_end_text(abi::SiteKind kind, uint8_t flags, uint8_t length, bool legacy_target = false);
std::string code_mode_text(uint8_t mode);

}  // namespace previrt::afterburner
