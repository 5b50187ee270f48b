#include "kernel/boot.h"

#include "kernel/console.h"
#include "kernel/frames.h"
#include "lib/string.h"
#include "previrt/guest_layout.h"

namespace guest {
namespace {

namespace boot = previrt::boot;

// Multiboot Specification 0.6.96, 3.3: the information structure.
struct [[gnu::packed]] MultibootInfo {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
};
struct [[gnu::packed]] MultibootMmapEntry {
    uint32_t size;
    uint64_t base, length;
    uint32_t type;
};
constexpr uint32_t kHasMemory = 1u << 0, kHasCmdline = 1u << 2, kHasMmap = 1u << 6;

bool readable(uint64_t phys, uint64_t size) {
    return phys < previrt::layout::kKernelWindowSize && size <= previrt::layout::kKernelWindowSize - phys;
}

bool from_multiboot(uint64_t info_phys, boot::BootInfo& out) {
    if (!readable(info_phys, sizeof(MultibootInfo))) return false;
    const auto* mbi = phys_to_virt<const MultibootInfo>(info_phys);
    out.version = boot::kBootInfoVersion;
    if ((mbi->flags & kHasCmdline) && readable(mbi->cmdline, 1)) {
        const char* s = phys_to_virt<const char>(mbi->cmdline);
        size_t i = 0;
        for (; i + 1 < boot::kMaxCommandLine && readable(mbi->cmdline + i, 1) && s[i]; ++i) out.command_line[i] = s[i];
        out.command_line[i] = '\0';
    }
    if ((mbi->flags & kHasMmap) && readable(mbi->mmap_addr, mbi->mmap_length)) {
        for (uint64_t off = 0; off + sizeof(MultibootMmapEntry) <= mbi->mmap_length &&
                               out.region_count < boot::kMaxMemoryRegions;) {
            const auto* e = phys_to_virt<const MultibootMmapEntry>(mbi->mmap_addr + off);
            out.regions[out.region_count++] = {e->base, e->length,
                                               static_cast<uint32_t>(e->type == 1 ? boot::MemoryType::Usable
                                                                                  : boot::MemoryType::Reserved),
                                               0};
            off += e->size + sizeof e->size;
        }
    } else if (mbi->flags & kHasMemory) {
        out.regions[out.region_count++] = {0x100000, uint64_t{mbi->mem_upper} * 1024,
                                           static_cast<uint32_t>(boot::MemoryType::Usable), 0};
    }
    return out.region_count > 0;
}

}  // namespace

bool read_boot_info(uint64_t magic, uint64_t info_phys, boot::BootInfo& out) {
    memset(&out, 0, sizeof out);
    if (magic == boot::kMultibootMagic) {
        if (from_multiboot(info_phys, out)) return true;
        kprintf("boot: the Multiboot information at %lx has no memory map\n", info_phys);
        return false;
    }
    if (magic == boot::kBootMagic) {
        if (!readable(info_phys, sizeof(boot::BootInfo))) {
            kprintf("boot: BootInfo at %lx lies outside the kernel window\n", info_phys);
            return false;
        }
        memcpy(&out, phys_to_virt<const boot::BootInfo>(info_phys), sizeof out);
        if (out.version != boot::kBootInfoVersion || out.region_count > boot::kMaxMemoryRegions) {
            kprintf("boot: BootInfo version %u with %u regions; this kernel reads version %u\n", out.version,
                    out.region_count, boot::kBootInfoVersion);
            return false;
        }
        out.command_line[boot::kMaxCommandLine - 1] = '\0';
        return true;
    }
    kprintf("boot: entered with magic %lx, neither Multiboot's nor previrt's\n", magic);
    return false;
}

}  // namespace guest
