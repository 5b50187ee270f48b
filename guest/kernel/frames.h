// Physical memory: 4 KiB frames, handed out from the usable regions the boot
// information lists (below the 1 GiB kernel window's end), above the kernel image.
#pragma once

#include <stdint.h>

#include "previrt/boot_info.h"
#include "previrt/guest_layout.h"

namespace guest {

inline constexpr uint64_t kPageSize = 4096;

template <typename T = void>
T* phys_to_virt(uint64_t phys) {
    return reinterpret_cast<T*>(previrt::layout::kernel_virt(phys));
}
inline uint64_t virt_to_phys(const void* p) { return previrt::layout::kernel_phys(reinterpret_cast<uint64_t>(p)); }

void frames_init(const previrt::boot::MemoryRegion* regions, uint32_t count, uint64_t kernel_end_phys);
// A zeroed frame's physical address, or 0 when memory is exhausted.
uint64_t frame_alloc();
void frame_free(uint64_t phys);
uint64_t frames_free();
// The highest usable physical address + 1 (the kernel window maps up to here).
uint64_t ram_top();

}  // namespace guest
