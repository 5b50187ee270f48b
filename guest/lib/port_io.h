// A window of I/O ports as the I/O object of the registers in abi/pc
// (pc/hwreg.h): register offsets are relative to its base, and each access is
// one in or out of the register's width.
//
//   constexpr PortIo kCom1{uart16550::kCom1Base};
//   if (Lsr::read_from(kCom1).test(Lsr::kThrEmpty)) ...
#pragma once

#include <stdint.h>

#include "arch/x86_64/cpu.h"

namespace guest {

class PortIo {
public:
    constexpr explicit PortIo(uint16_t base) : base_(base) {}

    template <typename T>
    T read(uint32_t offset) const {
        uint16_t port = static_cast<uint16_t>(base_ + offset);
        if constexpr (sizeof(T) == 1)
            return cpu::inb(port);
        else if constexpr (sizeof(T) == 2)
            return cpu::inw(port);
        else
            return cpu::inl(port);
    }
    template <typename T>
    void write(uint32_t offset, T v) const {
        uint16_t port = static_cast<uint16_t>(base_ + offset);
        if constexpr (sizeof(T) == 1)
            cpu::outb(port, v);
        else if constexpr (sizeof(T) == 2)
            cpu::outw(port, v);
        else
            cpu::outl(port, v);
    }

private:
    uint16_t base_;
};

}  // namespace guest
