#include "devices/pci.h"

#include "arch/x86_64/cpu.h"
#include "kernel/console.h"

namespace guest::pci {
namespace {

constexpr uint16_t kAddressPort = 0xcf8, kDataPort = 0xcfc;
constexpr uint32_t kEnable = 1u << 31;
// Configuration header offsets (PCI 3.0, 6.1).
constexpr unsigned kVendorDevice = 0x00, kClass = 0x08, kHeaderType = 0x0c;
constexpr uint32_t kMultiFunction = 0x80;  // header type bit 7
constexpr uint16_t kNoDevice = 0xffff;

bool host_bridge;

uint32_t address(unsigned bus, unsigned device, unsigned function, unsigned offset) {
    return kEnable | (bus << 16) | (device << 11) | (function << 8) | (offset & 0xfc);
}

}  // namespace

uint32_t config_read32(unsigned bus, unsigned device, unsigned function, unsigned offset) {
    cpu::outl(kAddressPort, address(bus, device, function, offset));
    return cpu::inl(kDataPort);
}

void config_write32(unsigned bus, unsigned device, unsigned function, unsigned offset, uint32_t value) {
    cpu::outl(kAddressPort, address(bus, device, function, offset));
    cpu::outl(kDataPort, value);
}

unsigned scan() {
    unsigned found = 0;
    host_bridge = false;
    for (unsigned bus = 0; bus < 256; ++bus) {
        for (unsigned dev = 0; dev < 32; ++dev) {
            if ((config_read32(bus, dev, 0, kVendorDevice) & 0xffff) == kNoDevice) continue;
            unsigned functions = (config_read32(bus, dev, 0, kHeaderType) >> 16) & kMultiFunction ? 8 : 1;
            for (unsigned fn = 0; fn < functions; ++fn) {
                uint32_t id = config_read32(bus, dev, fn, kVendorDevice);
                if ((id & 0xffff) == kNoDevice) continue;
                uint32_t cls = config_read32(bus, dev, fn, kClass);
                unsigned base = cls >> 24, sub = (cls >> 16) & 0xff;
                if (base == 0x06 && sub == 0x00) host_bridge = true;
                kprintf("pci: %02x:%02x.%x %04x:%04x class %02x.%02x\n", bus, dev, fn, id & 0xffff, id >> 16, base, sub);
                ++found;
            }
        }
    }
    return found;
}

bool found_host_bridge() { return host_bridge; }

}  // namespace guest::pci
