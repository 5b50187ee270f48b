// x86-64 control registers, EFER and the MSRs previrt touches: the
// architecture's facts (Intel SDM Vol. 3A 2.5 and 2.2.1, Vol. 4), declared
// once for the guest, the device models and the VMM alike.
#pragma once

#include <stdint.h>

namespace previrt::x86 {

inline constexpr uint64_t kCr0Pe = 1u << 0;   // protection enable
inline constexpr uint64_t kCr0Mp = 1u << 1;   // monitor coprocessor
inline constexpr uint64_t kCr0Et = 1u << 4;   // extension type (reads 1)
inline constexpr uint64_t kCr0Ne = 1u << 5;   // native x87 errors
inline constexpr uint64_t kCr0Wp = 1u << 16;  // write protect at CPL 0
inline constexpr uint64_t kCr0Pg = 1u << 31;  // paging

inline constexpr uint64_t kCr4Pae = 1u << 5;
inline constexpr uint64_t kCr4Pge = 1u << 7;

inline constexpr uint64_t kCr3AddressMask = 0x000f'ffff'ffff'f000ull;

inline constexpr uint64_t kEferSce = 1u << 0;   // syscall/sysret
inline constexpr uint64_t kEferLme = 1u << 8;   // long mode enable
inline constexpr uint64_t kEferLma = 1u << 10;  // long mode active (the processor's)
inline constexpr uint64_t kEferNxe = 1u << 11;  // no-execute

inline constexpr uint32_t kMsrApicBase = 0x0000'001b;
inline constexpr uint32_t kMsrPat = 0x0000'0277;
inline constexpr uint32_t kMsrEfer = 0xc000'0080;
inline constexpr uint32_t kMsrStar = 0xc000'0081;
inline constexpr uint32_t kMsrLstar = 0xc000'0082;
inline constexpr uint32_t kMsrCstar = 0xc000'0083;
inline constexpr uint32_t kMsrSfmask = 0xc000'0084;
inline constexpr uint32_t kMsrFsBase = 0xc000'0100;
inline constexpr uint32_t kMsrGsBase = 0xc000'0101;
inline constexpr uint32_t kMsrKernelGsBase = 0xc000'0102;
inline constexpr uint32_t kMsrTscAux = 0xc000'0103;

}  // namespace previrt::x86
