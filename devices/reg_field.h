// A register field declared once by its bit range, after Zircon's hwreg: the
// models keep raw register values (what the guest reads back) and name their
// fields through these constants instead of shifting and masking by hand.
//
//   inline constexpr RegField<uint8_t> kLsrDataReady{0};
//   lsr = kLsrDataReady.set(lsr, 1);
#pragma once

#include <cstdint>

namespace previrt::devices {

template <typename T>
class RegField {
public:
    constexpr RegField(unsigned hi, unsigned lo) : hi_(hi), lo_(lo) {}
    constexpr explicit RegField(unsigned bit) : RegField(bit, bit) {}

    constexpr T mask() const {
        unsigned width = hi_ - lo_ + 1;
        uint64_t ones = width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
        return static_cast<T>(ones << lo_);
    }
    constexpr T get(T reg) const { return static_cast<T>((reg & mask()) >> lo_); }
    constexpr bool test(T reg) const { return (reg & mask()) != 0; }
    // `reg` with this field replaced by `value` (truncated to the field).
    constexpr T set(T reg, uint64_t value) const { return static_cast<T>((reg & ~mask()) | ((value << lo_) & mask())); }
    constexpr T of(uint64_t value) const { return set(0, value); }

private:
    unsigned hi_, lo_;
};

}  // namespace previrt::devices
