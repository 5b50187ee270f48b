// libFuzzer target: what a monitor does with a guest image before the guest
// runs: the ELF read, the para-virtual note, the load into guest RAM (entry
// note, segments, boot page tables), then the site records checked against
// the loaded bytes, as every backend checks them.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <vector>

#include "elf/elf_file.h"
#include "tenders/loader/guest_loader.h"
#include "previrt/guest_layout.h"
#include "vmm/sites/site_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // Enough RAM for an image of a few MiB above the first: what the
    // corpus's guests need, small enough to clear on every run.
    static std::vector<uint8_t> ram(8u << 20);
    try {
        previrt::elf::File image = previrt::elf::File::parse({data, data + size});
        (void)previrt::loader::paravirt_interface(image);
        (void)previrt::loader::load_guest(image, ram, "console=ttyS0");
        previrt::sites::SiteTable table = previrt::vmm::load_sites(image);
        (void)previrt::vmm::check_sites(image, table, ram.data(), previrt::layout::kKernelBase, ram.size());
    } catch (const std::exception&) {
    }
    return 0;
}
