// Hardware registers declared once, field by field, after Zircon's hwreg: a
// field is a constant naming its bit range, a register a small class holding
// one value, read and written through an I/O object. The same declarations
// serve a driver, which reads and writes through ports, and a device model,
// which keeps raw register values (what the driver reads back) and names
// their fields through the same constants. Freestanding: nothing beyond
// <stdint.h>, so the guest, the device models and the in-place VMM all
// include it.
//
//   struct Lsr : hwreg::Register<Lsr, uint8_t> {
//       static constexpr uint32_t kOffset = 5;
//       static constexpr Field kDataReady{0}, kErrors{4, 1};
//   };
//   if (Lsr::read_from(io).test(Lsr::kDataReady)) ...  // a driver
//   lsr = Lsr::kDataReady.set(lsr, 1);                  // a model
#pragma once

#include <stdint.h>

namespace previrt::hwreg {

// Bits hi..lo of a register of type T.
template <typename T>
class Field {
public:
    constexpr Field(unsigned hi, unsigned lo) : hi_(hi), lo_(lo) {}
    constexpr explicit Field(unsigned bit) : Field(bit, bit) {}

    constexpr unsigned hi() const { return hi_; }
    constexpr unsigned lo() const { return lo_; }
    constexpr T mask() const {
        unsigned width = hi_ - lo_ + 1;
        uint64_t ones = width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
        return static_cast<T>(ones << lo_);
    }
    constexpr T get(T reg) const { return static_cast<T>((reg & mask()) >> lo_); }
    constexpr bool test(T reg) const { return (reg & mask()) != 0; }
    // `reg` with this field replaced by `value` (truncated to the field).
    constexpr T set(T reg, uint64_t value) const { return static_cast<T>((reg & ~mask()) | ((value << lo_) & mask())); }
    // The register value with only this field set to `value`.
    constexpr T of(uint64_t value) const { return set(0, value); }

private:
    unsigned hi_, lo_;
};

// `Derived` declares `static constexpr uint32_t kOffset` (where the register
// lies in its I/O object's window) and its fields as `static constexpr Field`.
// An I/O object has `template <typename T> T read(uint32_t offset) const` and
// `template <typename T> void write(uint32_t offset, T value) const`: ports in
// the guest, a fake in a host test.
template <typename Derived, typename T>
class Register {
public:
    using ValueType = T;
    using Field = hwreg::Field<T>;

    static constexpr Derived from_value(T v) {
        Derived r;
        r.value_ = v;
        return r;
    }
    template <typename Io>
    static Derived read_from(const Io& io) {
        return from_value(io.template read<T>(Derived::kOffset));
    }
    template <typename Io>
    void write_to(const Io& io) const {
        io.template write<T>(Derived::kOffset, value_);
    }

    constexpr T value() const { return value_; }
    constexpr T get(Field f) const { return f.get(value_); }
    constexpr bool test(Field f) const { return f.test(value_); }
    // Chainable: Reg::from_value(0).set(Reg::kA, 1).set(Reg::kB, 3).write_to(io).
    constexpr Derived& set(Field f, uint64_t v) {
        value_ = f.set(value_, v);
        return static_cast<Derived&>(*this);
    }

private:
    T value_ = 0;
};

}  // namespace previrt::hwreg
