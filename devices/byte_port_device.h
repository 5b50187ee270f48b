// A device whose registers are all one byte wide, as every ISA peripheral of
// the PC is. A wider access reaches it as the ISA bus delivers one to an 8-bit
// device: byte after byte at successive ports, lowest first, each with its side
// effects (IBM PC AT Technical Reference, "I/O Channel": 16-bit transfers to
// 8-bit devices are split into two 8-bit cycles).
#pragma once

#include <cstdint>

#include "devices/port_device.h"

namespace previrt::devices {

class BytePortDevice : public PortDevice {
public:
    uint32_t read(uint16_t port, unsigned size) final {
        uint32_t value = 0;
        for (unsigned i = 0; i < size; ++i) value |= uint32_t{read8(static_cast<uint16_t>(port + i))} << (8 * i);
        return value;
    }
    void write(uint16_t port, unsigned size, uint32_t value) final {
        for (unsigned i = 0; i < size; ++i)
            write8(static_cast<uint16_t>(port + i), static_cast<uint8_t>(value >> (8 * i)));
    }

private:
    virtual uint8_t read8(uint16_t port) = 0;
    virtual void write8(uint16_t port, uint8_t value) = 0;
};

}  // namespace previrt::devices
