// A device on the x86 I/O port bus. It sees the accesses the guest makes,
// nothing of who made them: a KVM exit, an in-place VMM's trap or a test.
#pragma once

#include <cstdint>

namespace previrt::devices {

class PortDevice {
public:
    // `port` is the absolute port number, `size` the access width in bytes (1,
    // 2 or 4); the value sits in the low `size` bytes, little-endian as the bus
    // carries it. Bits above `size` bytes in a read's result are discarded.
    virtual uint32_t read(uint16_t port, unsigned size) = 0;
    virtual void write(uint16_t port, unsigned size, uint32_t value) = 0;

protected:
    // Never deleted through this interface: no virtual destructor, so the
    // models need no operator delete (they build freestanding).
    ~PortDevice() = default;
};

}  // namespace previrt::devices
