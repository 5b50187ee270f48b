#include "arch/x86_64/paging.h"

#include "arch/x86_64/cpu.h"
#include "kernel/console.h"
#include "kernel/frames.h"
#include "previrt/guest_layout.h"
#include "previrt/markers.h"

extern "C" char __text_start[], __text_end[], __kernel_end[];

namespace guest::paging {
namespace {

namespace layout = previrt::layout;

constexpr uint64_t kTableFlags = kPresent | kWritable | kUser;  // leaves decide what user code may do
constexpr uint64_t kLargePageSize = 2ull << 20;

AddressSpace kernel;
uint64_t kernel_pd;  // the page directory of the kernel window, shared by all address spaces

unsigned index(uint64_t va, unsigned level) { return (va >> (12 + 9 * level)) & 511; }
uint64_t* table(uint64_t phys) { return phys_to_virt<uint64_t>(phys); }

// Every page-table store goes through the marker, so that an in-place VMM that
// shadows page tables sees it (abi/previrt/markers.h).
void set_entry(uint64_t* entry, uint64_t value) { previrt_write_pte(entry, value); }

// The entry for `va` at `level` (0 = page table), creating tables above it.
uint64_t* walk(const AddressSpace& as, uint64_t va, unsigned level, bool create) {
    uint64_t phys = as.root;
    for (unsigned l = 3; l > level; --l) {
        uint64_t* e = &table(phys)[index(va, l)];
        if (!(*e & kPresent)) {
            if (!create) return nullptr;
            uint64_t t = frame_alloc();
            if (!t) return nullptr;
            set_entry(e, t | kTableFlags);
        }
        if (*e & kLargePage) return nullptr;
        phys = *e & kAddressMask;
    }
    return &table(phys)[index(va, level)];
}

void free_level(uint64_t phys, unsigned level) {
    uint64_t* t = table(phys);
    for (unsigned i = 0; i < 512; ++i) {
        if (!(t[i] & kPresent)) continue;
        if (level > 0) free_level(t[i] & kAddressMask, level - 1);
        else frame_free(t[i] & kAddressMask);
    }
    frame_free(phys);
}

}  // namespace

void init() {
    cpu::wrmsr(cpu::kMsrEfer, cpu::rdmsr(cpu::kMsrEfer) | cpu::kEferNxe);
    cpu::write_cr4(cpu::read_cr4() | (1u << 7));  // CR4.PGE: global pages survive CR3 switches

    kernel.root = frame_alloc();
    kernel_pd = frame_alloc();
    uint64_t pdpt = frame_alloc();
    if (!kernel.root || !kernel_pd || !pdpt) panic("out of memory for the kernel page tables");
    set_entry(&table(kernel.root)[0], pdpt | kTableFlags);
    set_entry(&table(pdpt)[index(layout::kKernelBase, 2)], kernel_pd | kPresent | kWritable);

    // The image's 2 MiB regions get 4 KiB pages, so that only its text is
    // executable; the rest of RAM is mapped with 2 MiB pages, never executable.
    uint64_t text_start = layout::kernel_phys(reinterpret_cast<uint64_t>(__text_start));
    uint64_t text_end = layout::kernel_phys(reinterpret_cast<uint64_t>(__text_end));
    uint64_t image_end = layout::kernel_phys(reinterpret_cast<uint64_t>(__kernel_end));
    uint64_t top = ram_top();
    for (uint64_t base = 0; base < top; base += kLargePageSize) {
        uint64_t* pde = &table(kernel_pd)[base / kLargePageSize];
        if (base >= image_end) {
            set_entry(pde, base | kPresent | kWritable | kLargePage | kGlobal | kNoExecute);
            continue;
        }
        uint64_t pt = frame_alloc();
        if (!pt) panic("out of memory for the kernel page tables");
        for (unsigned i = 0; i < 512; ++i) {
            uint64_t phys = base + i * kPageSize;
            bool text = phys >= text_start && phys < text_end;
            set_entry(&table(pt)[i], phys | kPresent | kGlobal | (text ? 0 : kWritable | kNoExecute));
        }
        set_entry(pde, pt | kPresent | kWritable);
    }
    activate(kernel);
}

const AddressSpace& kernel_space() { return kernel; }

uint64_t map_device(uint64_t phys) {
    constexpr uint64_t kCacheDisable = 1ull << 4;  // PCD (Intel SDM Vol. 3A, table 4-17)
    phys &= ~(kLargePageSize - 1);
    if (phys < ram_top() || phys >= layout::kKernelWindowSize) panic("map_device: %lx is RAM or outside the window", phys);
    set_entry(&table(kernel_pd)[phys / kLargePageSize],
              phys | kPresent | kWritable | kLargePage | kCacheDisable | kNoExecute);
    uint64_t va = layout::kernel_virt(phys);
    cpu::invlpg(va);
    return va;
}

bool create(AddressSpace& as) {
    as.root = frame_alloc();
    uint64_t pdpt = frame_alloc();
    if (!as.root || !pdpt) {
        if (as.root) frame_free(as.root);
        if (pdpt) frame_free(pdpt);
        return false;
    }
    set_entry(&table(as.root)[0], pdpt | kTableFlags);
    set_entry(&table(pdpt)[index(layout::kKernelBase, 2)], kernel_pd | kPresent | kWritable);
    return true;
}

void destroy(AddressSpace& as) {
    uint64_t pdpt = table(as.root)[0] & kAddressMask;
    // Only the user part of the PDPT belongs to the process: the kernel
    // window's directory is shared, and the VMM hole is not the kernel's to
    // look at (an in-place VMM may have mapped itself there).
    for (unsigned i = index(layout::kUserBase, 2); i <= index(layout::kUserEnd - 1, 2); ++i) {
        uint64_t e = table(pdpt)[i];
        if ((e & kPresent) && (e & kAddressMask) != kernel_pd) free_level(e & kAddressMask, 1);
    }
    frame_free(pdpt);
    frame_free(as.root);
    as.root = 0;
}

void activate(const AddressSpace& as) {
    if (cpu::read_cr3() != as.root) cpu::write_cr3(as.root);
}

bool map(AddressSpace& as, uint64_t va, uint64_t phys, uint64_t flags) {
    if (va < layout::kUserBase || va >= layout::kUserEnd) return false;
    uint64_t* pte = walk(as, va, 0, true);
    if (!pte) return false;
    set_entry(pte, phys | kPresent | kUser | flags);
    return true;
}

bool unmap(AddressSpace& as, uint64_t va) {
    uint64_t* pte = walk(as, va, 0, false);
    if (!pte || !(*pte & kPresent)) return false;
    uint64_t phys = *pte & kAddressMask;
    set_entry(pte, 0);
    if (cpu::read_cr3() == as.root) cpu::invlpg(va);
    frame_free(phys);
    return true;
}

uint64_t lookup(const AddressSpace& as, uint64_t va) {
    uint64_t* pte = walk(as, va, 0, false);
    return pte && (*pte & kPresent) ? *pte : 0;
}

}  // namespace guest::paging
