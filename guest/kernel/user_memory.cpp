#include "kernel/user_memory.h"

#include "abi/syscalls.h"
#include "arch/x86_64/paging.h"
#include "kernel/frames.h"
#include "kernel/process.h"
#include "lib/string.h"
#include "previrt/guest_layout.h"

namespace guest {
namespace {

// Makes sure the page holding `va` is mapped for a user access of this kind,
// filling in a demand-zero page as the fault handler would.
bool ensure_page(uint64_t va, bool write) {
    Process* p = current();
    uint64_t pte = paging::lookup(p->space, va);
    if (!pte) {
        InterruptFrame f{};
        f.cs = 3;  // as if from user mode: the demand-zero path applies
        f.error_code = write ? 2 : 0;
        if (!handle_page_fault_at(f, va)) return false;
        pte = paging::lookup(p->space, va);
    }
    return pte && (pte & paging::kUser) && (!write || (pte & paging::kWritable));
}

bool pages_ok(uint64_t addr, size_t size, bool write) {
    if (!user_range_ok(addr, size)) return false;
    for (uint64_t page = addr & ~(kPageSize - 1); page < addr + size; page += kPageSize)
        if (!ensure_page(page, write)) return false;
    return true;
}

}  // namespace

bool user_range_ok(uint64_t addr, uint64_t size) {
    return addr >= previrt::layout::kUserBase && addr <= previrt::layout::kUserEnd &&
           size <= previrt::layout::kUserEnd - addr;
}

int64_t copy_from_user(void* dst, uint64_t src, size_t size) {
    if (!pages_ok(src, size, false)) return sys::kFault;
    memcpy(dst, reinterpret_cast<const void*>(src), size);
    return 0;
}

int64_t copy_to_user(uint64_t dst, const void* src, size_t size) {
    if (!pages_ok(dst, size, true)) return sys::kFault;
    memcpy(reinterpret_cast<void*>(dst), src, size);
    return 0;
}

int64_t copy_string_from_user(char* dst, uint64_t src, size_t max) {
    for (size_t i = 0; i < max; ++i) {
        if (!pages_ok(src + i, 1, false)) return sys::kFault;
        dst[i] = *reinterpret_cast<const char*>(src + i);
        if (!dst[i]) return 0;
    }
    return sys::kInvalid;
}

}  // namespace guest
