#include "devices/i440fx_host_bridge.h"

namespace previrt::devices {
namespace {

constexpr uint8_t kRevision = 0x02;  // what QEMU's i440FX reports ("rev 02" in lspci)
// The class code's three bytes: base class, subclass, interface 00h.
constexpr uint32_t kClassHostBridge = pci::kClassBridge << 16 | pci::kSubclassHost << 8;
// QEMU's subsystem IDs for its machine types: Red Hat, "QEMU Virtual Machine".
constexpr uint16_t kSubsystemVendor = 0x1af4, kSubsystem = 0x1100;
// PCI 3.0, 6.2.2: the command register bits a guest can change here (I/O,
// memory and bus master enable, parity error response, SERR# enable,
// interrupt disable), the set QEMU leaves writable.
constexpr uint16_t kCommandWritable = 0x0547;

}  // namespace

I440fxHostBridge::I440fxHostBridge() {
    config_.set(pci::kVendorId, 2, kVendor);
    config_.set(pci::kDeviceId, 2, kDevice);
    config_.set(pci::kRevisionId, 1, kRevision);
    config_.set(pci::kClassCode, 3, kClassHostBridge);
    config_.set(pci::kHeaderType, 1, pci::kLayoutDevice);  // a type 0 header, one function
    config_.set(pci::kSubsystemVendorId, 2, kSubsystemVendor);
    config_.set(pci::kSubsystemId, 2, kSubsystem);
    config_.set_writable(pci::kCommand, 2, kCommandWritable);
}

uint32_t I440fxHostBridge::config_read(uint8_t offset, unsigned size) { return config_.read(offset, size); }

void I440fxHostBridge::config_write(uint8_t offset, unsigned size, uint32_t value) {
    config_.write(offset, size, value);
}

}  // namespace previrt::devices
