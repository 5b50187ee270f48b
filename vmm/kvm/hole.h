// The in-place VMM for KVM in the guest's address space: where it lives,
// shared by the image (image/) and previrt-vmm, which loads it.
//
// Guest-physical: a memory slot of its own above the guest's RAM, which the
// guest's memory map does not mention, so the guest kernel never allocates
// it. Guest-virtual: the hole the guest layout keeps free
// (abi/previrt/guest_layout.h), mapped with 2 MiB supervisor pages by one
// page directory that PDPT entry 2 of every address space points to: the
// monitor puts it in the boot page tables, and the VMM into each new root
// the guest loads into CR3 (a rewritten site).
//
//   kVmmHoleBase + 0x000000  the image (kImageMax): code, data, stacks
//   kVmmHoleBase + 0x200000  the hole's page directory (one page)
//   kVmmHoleBase + 0x201000  the channel to the monitor (channel.h)
//   kVmmHoleBase + 0x300000  a 16-byte stub per rewritten site
//   kVmmHoleBase + 0x400000  the site table: what each stub's site is
#pragma once

#include <stdint.h>

#include "previrt/guest_layout.h"

namespace previrt::vmm::kvm {

inline constexpr uint64_t kPhysBase = 0x1'0000'0000;  // 4 GiB: above any RAM the guest layout allows
inline constexpr uint64_t kSize = 16ull << 20;
inline constexpr uint64_t kLargePage = 2ull << 20;
inline constexpr uint64_t kBase = layout::kVmmHoleBase;

inline constexpr uint64_t kImageMax = 0x20'0000;
inline constexpr uint64_t kPageDirectory = kBase + 0x20'0000;
inline constexpr uint64_t kChannel = kBase + 0x20'1000;
inline constexpr uint64_t kChannelMax = 0x10'0000 - 0x1000;
inline constexpr uint64_t kStubs = kBase + 0x30'0000;
inline constexpr uint64_t kStubSize = 16;
inline constexpr uint64_t kSiteTable = kBase + 0x40'0000;
inline constexpr uint64_t kSiteTableMax = kSize - 0x40'0000;

// Where PDPT entry 2 points (index 2 of the first PDPT: 2-3 GiB), and its flags:
// present, writable, supervisor (Intel SDM Vol. 3A, table 4-15).
inline constexpr unsigned kPdptIndex = 2;
inline constexpr uint64_t kPdptEntry = kPhysBase + (kPageDirectory - kBase) + 0x3;
static_assert(kBase == kPdptIndex * (1ull << 30));

constexpr uint64_t phys_of(uint64_t va) { return kPhysBase + (va - kBase); }

}  // namespace previrt::vmm::kvm
