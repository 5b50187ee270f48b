// Load time: checks every site record of the guest image against the bytes
// loaded in guest memory and rewrites the sites this backend handles in
// place, each into a call to an entry of the in-place VMM (or, for cli, the
// store to the virtual interrupt flag itself). Sites the process hypervisor
// does not need (cpuid, rdtsc, page-table stores, 32-bit boot code) stay as
// they are. Documented in docs/in-place-vmm.md.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "elf/elf_file.h"
#include "vmm/core/emulator.h"
#include "vmm/sites/site_check.h"

namespace previrt::vmm::process {

using vmm::SiteError;

struct RewrittenSite {
    uint64_t address = 0;
    uint8_t site_length = 0;
    uint8_t kind = 0;            // abi::SiteKind
    bool sti_before_hlt = false;  // the next site is a hlt: `sti; hlt` (the interrupt shadow)
    DecodedInstruction insn{};
    // `sti; hlt` with no room after the sti (the afterburner keeps the two
    // adjacent): one site of both, insn the sti and then this hlt.
    bool then_halt = false;
    DecodedInstruction halt{};
};

struct RewriteResult {
    // Sites rewritten into a call of the generic entry, by address.
    std::unordered_map<uint64_t, RewrittenSite> sites;
    // Where a rewritten sti's call to the pending entry returns, and whether a
    // hlt site follows that sti (`sti; hlt`: the hlt looks at the event).
    std::unordered_map<uint64_t, bool> sti_returns;
    size_t total = 0;        // records in the image (code-mode records excluded)
    size_t rewritten = 0;    // calls and inline stores written
    size_t left = 0;         // left as they are
    std::string summary;     // one line per kind: rewritten how, and how many
};

// Validates all records (throws SiteError naming the site: outside the image,
// bytes that are not the recorded instruction followed by NOPs). With
// `rewrite` false it only validates (pure mode). `code` is the guest's
// memory as the guest sees its kernel window: the byte at guest-virtual
// address v is at code[v - code_base].
RewriteResult rewrite_sites(const elf::File& image, uint8_t* code, uint64_t code_base, uint64_t code_size,
                            bool rewrite);

}  // namespace previrt::vmm::process
