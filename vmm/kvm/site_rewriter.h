// Load time, for the KVM backend: checks every site record of the guest
// image (vmm/sites) and rewrites the sites that would exit on KVM into calls
// of the in-place VMM: port I/O (in, out), cpuid, and the loads of CR3 (which
// the VMM follows to keep its hole mapped). Everything else KVM runs as the
// hardware would, natively on VT-x/AMD-V: it stays. The table per kind is in
// docs/in-place-vmm.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "elf/elf_file.h"
#include "vmm/kvm/channel.h"
#include "vmm/sites/site_check.h"

namespace previrt::vmm::kvm {

struct Rewrite {
    std::vector<SiteEntry> table;  // entry i is what stub i's site is
    size_t total = 0;              // records in the image (code-mode records excluded)
    size_t rewritten = 0;
    size_t left = 0;
    std::string summary;           // one line per kind: rewritten how, and how many
};

// Validates all records (SiteError naming the site) and, with `rewrite`,
// rewrites the sites into `call stub` and writes the stubs. `code` is the
// guest's memory as its kernel sees it (the byte at guest-virtual v is at
// code[v - code_base]); `stubs` is where kStubs is, `entry` the image's entry.
Rewrite rewrite_sites(const elf::File& image, uint8_t* code, uint64_t code_base, uint64_t code_size, bool rewrite,
                      uint8_t* stubs, uint64_t entry);

}  // namespace previrt::vmm::kvm
