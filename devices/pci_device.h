// A PCI function as the configuration mechanism sees it: a 256-byte
// configuration space (PCI Local Bus Specification 3.0, chapter 6).
#pragma once

#include <cstdint>

namespace previrt::devices {

class PciDevice {
public:
    // `offset` is a byte offset into the configuration space, `size` 1, 2 or
    // 4; the access never crosses a dword boundary. Values are little-endian.
    virtual uint32_t config_read(uint8_t offset, unsigned size) = 0;
    virtual void config_write(uint8_t offset, unsigned size, uint32_t value) = 0;

protected:
    // Never deleted through this interface: no virtual destructor, so the
    // models need no operator delete (they build freestanding).
    ~PciDevice() = default;
};

}  // namespace previrt::devices
