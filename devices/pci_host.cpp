#include "devices/pci_host.h"

#include "devices/reg_field.h"

namespace previrt::devices {
namespace {

using Field = RegField<uint32_t>;

// CONFIG_ADDRESS, PCI 3.0, 3.2.2.3.2 (Figure 3-1). Bits 30:24 are reserved and
// read as zero; bits 1:0 are read-only zero, the register selecting whole dwords.
constexpr Field kEnable{31}, kBus{23, 16}, kDevice{15, 11}, kFunction{10, 8}, kRegister{7, 2};
constexpr uint32_t kAddressWritable =
    kEnable.mask() | kBus.mask() | kDevice.mask() | kFunction.mask() | kRegister.mask();

constexpr uint32_t kAllOnes = 0xffffffff;

}  // namespace

PciHost::PciHost() { attach(0, 0, host_bridge_); }

bool PciHost::attach(unsigned slot, unsigned function, PciDevice& device) {
    if (slot >= kSlots || function >= kFunctions) return false;
    PciDevice*& place = functions_[slot * kFunctions + function];
    if (place) return false;
    place = &device;
    return true;
}

// The function CONFIG_DATA reaches with this access, and the byte offset in
// its space; nullptr if the access goes nowhere. CONFIG_DATA is only the
// configuration window while CONFIG_ADDRESS has the enable bit set; otherwise
// it is an ordinary port that nothing here answers.
PciDevice* PciHost::target(uint16_t port, unsigned size, uint8_t& offset) const {
    unsigned byte = port - kDataPort;
    if (byte + size > 4 || !kEnable.test(address_) || kBus.get(address_) != 0) return nullptr;
    offset = static_cast<uint8_t>((kRegister.get(address_) << 2) + byte);
    return functions_[kDevice.get(address_) * kFunctions + kFunction.get(address_)];
}

// Only a dword access at 0xcf8 is CONFIG_ADDRESS (3.2.2.3.2: "anything other
// than a DWORD access" passes through as a normal I/O access); the other
// accesses to 0xcf8-0xcfb reach nothing here.
uint32_t PciHost::read(uint16_t port, unsigned size) {
    if (port < kDataPort) return port == kAddressPort && size == 4 ? address_ : kAllOnes;
    uint8_t offset = 0;
    PciDevice* device = target(port, size, offset);
    return device ? device->config_read(offset, size) : kAllOnes;
}

PciHost::State PciHost::save() const { return State{address_, host_bridge_.command(), 0}; }

void PciHost::restore(const State& state) {
    address_ = state.address & kAddressWritable;
    host_bridge_.restore_command(state.host_bridge_command);
}

void PciHost::write(uint16_t port, unsigned size, uint32_t value) {
    if (port < kDataPort) {
        if (port == kAddressPort && size == 4) address_ = value & kAddressWritable;
        return;
    }
    uint8_t offset = 0;
    if (PciDevice* device = target(port, size, offset)) device->config_write(offset, size, value);
}

}  // namespace previrt::devices
