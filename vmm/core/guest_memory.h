// Guest-physical memory as the in-place VMM sees it, and guest-virtual
// accesses through the guest's own page tables (Intel SDM Vol. 3A, 4.5:
// 4-level paging, 4 KiB, 2 MiB and 1 GiB pages).
//
// Freestanding: no allocation, no library beyond <stdint.h>.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vmm/core/vcpu.h"
#include "x86/paging.h"

namespace previrt::vmm {

// Guest-physical RAM, contiguous from address 0, visible to the VMM at `base`.
class GuestMemory {
public:
    GuestMemory() = default;
    GuestMemory(uint8_t* base, uint64_t size) : base_(base), size_(size) {}

    uint64_t size() const { return size_; }
    // The host address of [pa, pa + length), or nullptr if any of it is not RAM.
    uint8_t* host(uint64_t pa, uint64_t length) const {
        if (pa > size_ || length > size_ - pa) return nullptr;
        return base_ + pa;
    }

private:
    uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
};

// Page-fault error codes and page-table entries.
using x86::kPfFetch, x86::kPfPresent, x86::kPfReserved, x86::kPfUser, x86::kPfWrite;
using x86::kPteAddressMask, x86::kPteLarge, x86::kPteNoExecute, x86::kPtePresent, x86::kPteUser, x86::kPteWritable;

enum class Access : uint8_t { Read, Write, Fetch };

struct Translation {
    bool ok = false;
    uint64_t pa = 0;
    // On success: what the walk allows for the whole 4 KiB page.
    bool writable = false, user = false, executable = false;
    // On failure: the #PF error code.
    uint32_t error_code = 0;
    // On failure: the tables allow the access, but to a physical address
    // that is not RAM (device memory); `pa` is that address.
    bool device = false;
};

// Walks the tables at `cr3` for an access of `access` kind at privilege
// `user` (CPL 3) or supervisor. Honours CR0.WP and EFER.NXE of `vcpu`.
// Entries outside RAM or with reserved bits make the walk fail.
Translation translate(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, Access access, bool user);

// Copies between guest-virtual memory (as the guest at its current privilege
// would access it, or as the supervisor when `supervisor` is set) and `data`.
// On a fault returns false with the faulting address and #PF error code.
struct VirtualFault {
    uint64_t address = 0;
    uint32_t error_code = 0;
};
bool read_virtual(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, void* data, size_t length,
                  bool supervisor, VirtualFault& fault);
bool write_virtual(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, const void* data, size_t length,
                   bool supervisor, VirtualFault& fault);

// Whether `va` is canonical for 48-bit linear addresses (Intel SDM Vol. 1, 3.3.7.1).
inline bool is_canonical(uint64_t va) {
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1ffff;
}

}  // namespace previrt::vmm
