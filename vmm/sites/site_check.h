// Load time, for every backend: the image's site records checked against the
// bytes loaded in guest memory, each site's instruction decoded; and the
// small pieces every rewriter writes (NOP fill, rel32 displacements).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sites/insn_decoder.h"
#include "sites/site_table.h"
#include "elf/elf_file.h"

namespace previrt::vmm {

class SiteError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct CheckedSite {
    const sites::Site* site = nullptr;  // into the table check_sites() was given
    sites::DecodedInsn decoded;
    std::string text;     // the instruction as the assembler would write it
    bool code64 = true;   // recorded as 64-bit code (else 16/32-bit boot code: never rewritten)
};

// The image's site table (throws SiteError for a malformed one).
sites::SiteTable load_sites(const elf::File& image);

// Checks every record (code-mode records excluded) against the loaded bytes:
// inside the image, the recorded instruction of the recorded kind and length,
// then nothing but NOPs. Throws SiteError naming the site. `code` is the
// guest's memory as the guest sees its kernel: the byte at guest-virtual
// address v is at code[v - code_base].
std::vector<CheckedSite> check_sites(const elf::File& image, const sites::SiteTable& table, const uint8_t* code,
                                     uint64_t code_base, uint64_t code_size);

// The NOPs the Intel SDM recommends (Vol. 2B, NOP, table 4-12), in runs of up to 9 bytes.
void fill_nops(uint8_t* p, size_t n);

// Writes at p the rel32 that takes an instruction ending at `from_next` to
// `to`; SiteError if that is beyond a 32-bit displacement.
void put_rel32(uint8_t* p, uint64_t from_next, uint64_t to);

}  // namespace previrt::vmm
