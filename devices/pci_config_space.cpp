#include "devices/pci_config_space.h"

namespace previrt::devices {

uint32_t PciConfigSpace::read(uint8_t offset, unsigned size) const {
    uint32_t value = 0;
    for (unsigned i = 0; i < size && offset + i < kSize; ++i) value |= uint32_t{bytes_[offset + i]} << (8 * i);
    return value;
}

void PciConfigSpace::write(uint8_t offset, unsigned size, uint32_t value) {
    for (unsigned i = 0; i < size && offset + i < kSize; ++i) {
        uint8_t byte = static_cast<uint8_t>(value >> (8 * i));
        uint8_t mask = writable_[offset + i];
        bytes_[offset + i] = static_cast<uint8_t>((bytes_[offset + i] & ~mask) | (byte & mask));
    }
}

void PciConfigSpace::set(uint8_t offset, unsigned size, uint32_t value) {
    for (unsigned i = 0; i < size && offset + i < kSize; ++i)
        bytes_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

void PciConfigSpace::set_writable(uint8_t offset, unsigned size, uint32_t mask) {
    for (unsigned i = 0; i < size && offset + i < kSize; ++i)
        writable_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
}

}  // namespace previrt::devices
