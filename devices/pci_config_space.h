// The storage behind a PCI function's configuration space: 256 bytes and, for
// each bit, whether the guest may change it. Most of the header is read-only
// (PCI Local Bus Specification 3.0, 6.2), so a device states once which bits
// are writable and lets this class refuse the rest.
#pragma once

#include <array>
#include <cstdint>

#include "pc/pci.h"

namespace previrt::devices {

namespace pci = pc::pci;  // the header's offsets

class PciConfigSpace {
public:
    static constexpr unsigned kSize = 256;

    // Bytes [offset, offset + size), little-endian; bytes past the end read as zero.
    uint32_t read(uint8_t offset, unsigned size) const;
    // A guest's write: changes only the writable bits.
    void write(uint8_t offset, unsigned size, uint32_t value);

    // The device's own setup: any bits, and which of them the guest may write.
    void set(uint8_t offset, unsigned size, uint32_t value);
    void set_writable(uint8_t offset, unsigned size, uint32_t mask);

private:
    std::array<uint8_t, kSize> bytes_{};
    std::array<uint8_t, kSize> writable_{};
};

}  // namespace previrt::devices
