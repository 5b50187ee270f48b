// x86-64 4-level paging: the page-table entry bits and the page-fault error
// code (Intel SDM Vol. 3A, tables 4-15 to 4-20 and 4.7), declared once for the
// guest, the monitors' boot page tables and the VMM's page walks.
#pragma once

#include <stdint.h>

namespace previrt::x86 {

inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWritable = 1ull << 1;
inline constexpr uint64_t kPteUser = 1ull << 2;
inline constexpr uint64_t kPteLarge = 1ull << 7;   // a 2 MiB or 1 GiB page (in a PD or PDPT entry)
inline constexpr uint64_t kPteGlobal = 1ull << 8;
inline constexpr uint64_t kPteNoExecute = 1ull << 63;
inline constexpr uint64_t kPteAddressMask = 0x000f'ffff'ffff'f000ull;

inline constexpr uint32_t kPfPresent = 1u << 0;
inline constexpr uint32_t kPfWrite = 1u << 1;
inline constexpr uint32_t kPfUser = 1u << 2;
inline constexpr uint32_t kPfReserved = 1u << 3;
inline constexpr uint32_t kPfFetch = 1u << 4;

}  // namespace previrt::x86
