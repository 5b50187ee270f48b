#include "kernel/frames.h"

#include "kernel/console.h"
#include "kernel/spinlock.h"
#include "lib/string.h"

namespace guest {
namespace {

// Free frames form a list threaded through the frames themselves.
struct FreeFrame {
    uint64_t next;
};

IrqSaveLock lock;
uint64_t free_head;
uint64_t free_count;
uint64_t top;

}  // namespace

void frames_init(const previrt::boot::MemoryRegion* regions, uint32_t count, uint64_t kernel_end_phys) {
    for (uint32_t i = 0; i < count; ++i) {
        const auto& r = regions[i];
        if (r.type != static_cast<uint32_t>(previrt::boot::MemoryType::Usable)) continue;
        uint64_t start = (r.base + kPageSize - 1) & ~(kPageSize - 1);
        uint64_t end = (r.base + r.length) & ~(kPageSize - 1);
        if (end > previrt::layout::kKernelWindowSize) end = previrt::layout::kKernelWindowSize;
        if (start < kernel_end_phys) start = kernel_end_phys;
        for (uint64_t f = start; f + kPageSize <= end; f += kPageSize) {
            frame_free(f);
            if (f + kPageSize > top) top = f + kPageSize;
        }
    }
    if (!free_count) panic("no usable memory above the kernel image");
}

uint64_t frame_alloc() {
    uint64_t f;
    {
        LockGuard g(lock);
        f = free_head;
        if (!f) return 0;
        free_head = phys_to_virt<FreeFrame>(f)->next;
        --free_count;
    }
    memset(phys_to_virt(f), 0, kPageSize);
    return f;
}

void frame_free(uint64_t phys) {
    LockGuard g(lock);
    phys_to_virt<FreeFrame>(phys)->next = free_head;
    free_head = phys;
    ++free_count;
}

uint64_t frames_free() { return free_count; }
uint64_t ram_top() { return top; }

}  // namespace guest
