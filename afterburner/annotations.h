// Annotation files: sites no scan can find (device-register accesses, page-table
// writes), named by function and instruction ordinal so that the next build's
// assembler hook can pad and record them. `previrt annotate` writes them from a
// monitor's trap profile; the hook reads them (--previrt-annotations=FILE or
// PREVIRT_ANNOTATIONS).
//
// Format, one site a line, '#' starts a comment:
//     <function> <ordinal> <mnemonic> <kind>
// ordinal counts the function's instructions from 0, NOPs excluded; mnemonic is
// the instruction's base mnemonic (checked, to catch a stale profile); kind is
// mmio_read, mmio_write or page_table_write.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "previrt/site_record.h"

namespace previrt::afterburner {

class AnnotationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A token of an input file as a message may show it: bytes outside printable
// ASCII as \xNN (a NUL included, which would cut the message), at most 64
// characters of it, then "...".
std::string printable(std::string_view token);

struct Annotation {
    std::string function;
    uint32_t ordinal = 0;
    std::string mnemonic;
    abi::SiteKind kind = abi::SiteKind::MmioWrite;
};

// An annotation file is a line per site: one larger than this is no such file.
inline constexpr size_t kMaxAnnotationBytes = size_t{64} << 20;

class Annotations {
public:
    static Annotations parse(std::string_view text, std::string_view file_name);
    static Annotations load(const std::string& path);

    void add(Annotation a);
    const Annotation* find(std::string_view function, uint32_t ordinal) const;
    bool empty() const { return by_site_.empty(); }
    size_t size() const { return by_site_.size(); }
    std::string serialize() const;

private:
    std::map<std::pair<std::string, uint32_t>, Annotation, std::less<>> by_site_;
};

// Whether the text's mnemonic (an AT&T spelling such as "movl") is the annotated
// one (a base mnemonic such as "mov").
bool mnemonic_matches(std::string_view att_mnemonic, std::string_view base);

}  // namespace previrt::afterburner
