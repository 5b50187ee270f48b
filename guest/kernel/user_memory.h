// Checked access to the current process's memory from the kernel. Every user
// pointer a system call receives goes through here: a bad one yields
// sys::kFault, never a kernel fault.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest {

bool user_range_ok(uint64_t addr, uint64_t size);
// 0 or sys::kFault.
int64_t copy_from_user(void* dst, uint64_t src, size_t size);
int64_t copy_to_user(uint64_t dst, const void* src, size_t size);
// Copies a NUL-terminated string of at most max - 1 characters; sys::kInvalid if longer.
int64_t copy_string_from_user(char* dst, uint64_t src, size_t max);

}  // namespace guest
