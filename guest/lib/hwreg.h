// Hardware registers declared once, field by field, after Zircon's hwreg: a
// register is a small class holding one value, its fields named by bit range,
// read and written through an I/O object. The I/O object is a template
// parameter, so a driver's register logic can run against a fake in a host test.
//
//   struct Lsr : hwreg::Register<Lsr, uint8_t> {
//       static constexpr uint32_t kOffset = 5;
//       HWREG_BIT(5, thr_empty);
//   };
//   if (Lsr::read_from(io).thr_empty()) ...
#pragma once

#include <stdint.h>

#include "arch/x86_64/cpu.h"

namespace guest::hwreg {

// A window of I/O ports; register offsets are relative to its base.
class PortIo {
public:
    constexpr explicit PortIo(uint16_t base) : base_(base) {}

    template <typename T>
    T read(uint32_t offset) const {
        uint16_t port = static_cast<uint16_t>(base_ + offset);
        if constexpr (sizeof(T) == 1) return cpu::inb(port);
        else if constexpr (sizeof(T) == 2) return cpu::inw(port);
        else return cpu::inl(port);
    }
    template <typename T>
    void write(uint32_t offset, T v) const {
        uint16_t port = static_cast<uint16_t>(base_ + offset);
        if constexpr (sizeof(T) == 1) cpu::outb(port, v);
        else if constexpr (sizeof(T) == 2) cpu::outw(port, v);
        else cpu::outl(port, v);
    }

private:
    uint16_t base_;
};

// `Derived` declares `static constexpr uint32_t kOffset` and its fields.
template <typename Derived, typename T>
class Register {
public:
    using ValueType = T;

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

protected:
    template <unsigned Hi, unsigned Lo>
    static constexpr T mask() {
        static_assert(Hi >= Lo && Hi < sizeof(T) * 8, "field outside the register");
        constexpr unsigned width = Hi - Lo + 1;
        using Wide = uint64_t;
        return static_cast<T>((width >= 64 ? ~Wide{0} : (Wide{1} << width) - 1) << Lo);
    }
    template <unsigned Hi, unsigned Lo>
    constexpr T field() const {
        return static_cast<T>((value_ & mask<Hi, Lo>()) >> Lo);
    }
    template <unsigned Hi, unsigned Lo>
    constexpr void set_field(T v) {
        value_ = static_cast<T>((value_ & ~mask<Hi, Lo>()) | ((static_cast<T>(v << Lo)) & mask<Hi, Lo>()));
    }

private:
    T value_ = 0;
};

}  // namespace guest::hwreg

// A field of bits HI..LO: a getter NAME() and a chainable setter set_NAME(v).
#define HWREG_FIELD(HI, LO, NAME)                                                    \
    constexpr ValueType NAME() const { return this->template field<HI, LO>(); }      \
    constexpr auto& set_##NAME(ValueType v) {                                        \
        this->template set_field<HI, LO>(v);                                         \
        return *this;                                                                \
    }
#define HWREG_BIT(BIT, NAME) HWREG_FIELD(BIT, BIT, NAME)
