// The host bridge at 00:00.0, presented as QEMU presents its i440FX (the
// 82441FX PCI and memory controller): the identity a PC guest expects to find
// first on bus 0. Only the header is modelled; the chipset's own registers
// (PAM, SMRAM, DRAM rows) read as zero and ignore writes, since the monitors
// map memory themselves and no firmware runs in the guest.
#pragma once

#include <cstdint>

#include "devices/pci_config_space.h"
#include "devices/pci_device.h"

namespace previrt::devices {

class I440fxHostBridge final : public PciDevice {
public:
    static constexpr uint16_t kVendor = 0x8086;  // Intel
    static constexpr uint16_t kDevice = 0x1237;  // 82441FX (440FX PMC)

    I440fxHostBridge();

    uint32_t config_read(uint8_t offset, unsigned size) override;
    void config_write(uint8_t offset, unsigned size, uint32_t value) override;

    // All a guest can change: the command register. restore() keeps its
    // writable bits of whatever it is given.
    uint16_t command() const { return static_cast<uint16_t>(config_.read(pci::kCommand, 2)); }
    void restore_command(uint16_t command) { config_.write(pci::kCommand, 2, command); }

private:
    PciConfigSpace config_;
};

}  // namespace previrt::devices
