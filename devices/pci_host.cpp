#include "devices/pci_host.h"

#include "pc/pci.h"

namespace previrt::devices {
namespace {

using namespace pc::pci;

constexpr uint32_t kAllOnes = 0xffffffff;

}  // namespace

PciHost::PciHost() { attach(0, 0, host_bridge_); }

bool PciHost::attach(unsigned slot, unsigned function, PciDevice& device) {
    if (slot >= kDevices || function >= kFunctions) return false;
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
    unsigned byte = port - kConfigDataPort;
    if (byte + size > 4 || !ConfigAddress::kEnable.test(address_) || ConfigAddress::kBus.get(address_) != 0)
        return nullptr;
    offset = static_cast<uint8_t>((ConfigAddress::kRegister.get(address_) << 2) + byte);
    return functions_[ConfigAddress::kDevice.get(address_) * kFunctions + ConfigAddress::kFunction.get(address_)];
}

// Only a dword access at 0xcf8 is CONFIG_ADDRESS (3.2.2.3.2: "anything other
// than a DWORD access" passes through as a normal I/O access); the other
// accesses to 0xcf8-0xcfb reach nothing here.
uint32_t PciHost::read(uint16_t port, unsigned size) {
    if (port < kConfigDataPort) return port == kConfigAddressPort && size == 4 ? address_ : kAllOnes;
    uint8_t offset = 0;
    PciDevice* device = target(port, size, offset);
    return device ? device->config_read(offset, size) : kAllOnes;
}

PciHost::State PciHost::save() const { return State{address_, host_bridge_.command(), 0}; }

void PciHost::restore(const State& state) {
    address_ = state.address & ConfigAddress::kWritable;
    host_bridge_.restore_command(state.host_bridge_command);
}

void PciHost::write(uint16_t port, unsigned size, uint32_t value) {
    if (port < kConfigDataPort) {
        if (port == kConfigAddressPort && size == 4) address_ = value & ConfigAddress::kWritable;
        return;
    }
    uint8_t offset = 0;
    if (PciDevice* device = target(port, size, offset)) device->config_write(offset, size, value);
}

}  // namespace previrt::devices
