// The boot information a monitor hands the guest's 64-bit entry point. Bytes
// described in docs/guest.md; the version is checked at entry, and a mismatch
// stops the guest with a message on COM1.
//
// 64-bit entry protocol (ELF note "previrt", type kNoteEntry64, holds the entry's
// virtual address):
//   - long mode, CPL 0, interrupts disabled, any flat 64-bit code segment;
//   - paging on, with guest-physical [0, RAM size) mapped at
//     layout::kKernelBase + physical (identity mapping not needed);
//   - rdi = kBootMagic, rsi = guest-physical address of a BootInfo;
//   - rsp: any 16-byte aligned stack inside the kernel window.
#pragma once

#include <stdint.h>

#include "previrt/note.h"

namespace previrt::boot {

inline constexpr uint64_t kBootMagic = 0x70726576'69727401;  // "previrt" + version 1
inline constexpr uint32_t kMultibootMagic = 0x2badb002;     // what a Multiboot loader leaves in eax
inline constexpr uint32_t kBootInfoVersion = 1;

inline constexpr uint32_t kNoteEntry64 = PREVIRT_NOTE_ENTRY64;  // ELF note type: 64-bit entry address (8 bytes)
inline constexpr char kNoteName[] = PREVIRT_NOTE_NAME;

enum class MemoryType : uint32_t { Usable = 1, Reserved = 2 };

struct MemoryRegion {
    uint64_t base;
    uint64_t length;
    uint32_t type;  // MemoryType
    uint32_t reserved;
};
static_assert(sizeof(MemoryRegion) == 24);

inline constexpr uint32_t kMaxMemoryRegions = 32;
inline constexpr uint32_t kMaxCommandLine = 256;

struct BootInfo {
    uint32_t version;        // kBootInfoVersion
    uint32_t region_count;   // valid entries in regions
    char command_line[kMaxCommandLine];  // NUL-terminated
    MemoryRegion regions[kMaxMemoryRegions];
};
static_assert(sizeof(BootInfo) == 8 + 256 + 32 * 24);

}  // namespace previrt::boot
