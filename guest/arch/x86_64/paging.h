// 4-level paging (Intel SDM Vol. 3A, 4.5): the kernel window shared by every
// address space, and each process's own user mappings below it.
#pragma once

#include <stdint.h>

#include "x86/paging.h"

namespace guest::paging {

// Page-table entry bits, by the names the kernel uses (x86/paging.h).
inline constexpr uint64_t kPresent = previrt::x86::kPtePresent;
inline constexpr uint64_t kWritable = previrt::x86::kPteWritable;
inline constexpr uint64_t kUser = previrt::x86::kPteUser;
inline constexpr uint64_t kLargePage = previrt::x86::kPteLarge;
inline constexpr uint64_t kGlobal = previrt::x86::kPteGlobal;
inline constexpr uint64_t kNoExecute = previrt::x86::kPteNoExecute;
inline constexpr uint64_t kAddressMask = previrt::x86::kPteAddressMask;

struct AddressSpace {
    uint64_t root = 0;  // physical address of the PML4
};

// Builds the kernel's tables (text read-only and executable, everything else
// no-execute), turns on EFER.NXE and CR4.PGE, and switches to them.
void init();
const AddressSpace& kernel_space();

// Maps the 2 MiB of guest-physical space at `phys` (above RAM, inside the
// kernel window) uncached, for device registers; returns its kernel address.
uint64_t map_device(uint64_t phys);

bool create(AddressSpace& as);
// Frees every user page and table of `as` (not the kernel window).
void destroy(AddressSpace& as);
void activate(const AddressSpace& as);

// User pages, 4 KiB each.
bool map(AddressSpace& as, uint64_t va, uint64_t phys, uint64_t flags);
// Unmaps and frees the page's frame; flushes it from the TLB if `as` is active.
bool unmap(AddressSpace& as, uint64_t va);
// The present leaf entry for `va`, or 0.
uint64_t lookup(const AddressSpace& as, uint64_t va);

}  // namespace guest::paging
