// The assembler hook's text pass: finds every sensitive instruction in GNU as
// source, wraps it in site text (abi/previrt/site_asm.h) that pads it with NOPs
// and records it, and leaves everything else byte for byte as it was. All
// inserted text goes on the instruction's own line, so the assembler's line
// numbers, error messages and debug information stay those of the original.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "previrt/site_record.h"
#include "afterburner/annotations.h"

namespace previrt::afterburner {

struct RewriteOptions {
    std::string file_name = "<stdin>";       // for messages
    uint8_t initial_mode = abi::kSiteMode64;  // as --32 starts in 32-bit mode; its objects are
                                              // padded with single-byte NOPs throughout
    const Annotations* annotations = nullptr;
    // False: every site recorded without scratch space (the hook's second try
    // where padding broke a layout the source fixes).
    bool pad = true;
};

struct RewriteResult {
    std::string text;
    std::map<abi::SiteKind, size_t> sites;  // by kind, each expansion of a macro body counted once
    std::vector<std::string> warnings;      // "file:line: ..." for the user
    std::vector<std::string> places;        // "file:line: mnemonic" of each site, in order
    size_t annotations_applied = 0;
};

RewriteResult rewrite(std::string_view source, const RewriteOptions& options);

// The site text for one instruction: what goes before it, and what goes after.
std::string site_begin_text();
// Multi-byte NOPs for 64-bit code of a 64-bit target, single-byte ones elsewhere.
std::string site_end_text(abi::SiteKind kind, uint8_t flags, uint8_t length, bool legacy_target = false);
std::string code_mode_text(uint8_t mode);

}  // namespace previrt::afterburner
