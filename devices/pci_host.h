// PCI configuration mechanism #1: CONFIG_ADDRESS at port 0xcf8 selects a bus,
// device, function and dword; CONFIG_DATA at 0xcfc-0xcff reads or writes it.
// Manual: PCI Local Bus Specification 3.0, 3.2.2.3.2 "Software Generation of
// Configuration Transactions".
//
// One bus (bus 0) and no bridges: a function nobody attached reads as all
// ones and ignores writes, as a master abort does on a PC.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

#include "devices/i440fx_host_bridge.h"
#include "devices/pci_device.h"
#include "devices/port_device.h"
#include "pc/pci.h"

namespace previrt::devices {

class PciHost final : public PortDevice {
public:
    // With the host bridge at 00:00.0.
    PciHost();
    PciHost(const PciHost&) = delete;
    PciHost& operator=(const PciHost&) = delete;

    // Puts `device` (which must outlive this) at 00:slot.function. False if
    // that function is taken or out of range.
    bool attach(unsigned slot, unsigned function, PciDevice& device);

    uint32_t read(uint16_t port, unsigned size) override;
    void write(uint16_t port, unsigned size, uint32_t value) override;

    // CONFIG_ADDRESS and the host bridge's command register: what a guest can
    // change, as plain bytes another party may write. The attached devices
    // other than the host bridge keep their own states. restore() accepts
    // any bytes: each register keeps its writable bits.
    struct State {
        uint32_t address;
        uint16_t host_bridge_command;
        uint16_t reserved;  // zero
    };
    State save() const;
    void restore(const State& state);

private:
    PciDevice* target(uint16_t port, unsigned size, uint8_t& offset) const;

    I440fxHostBridge host_bridge_;
    std::array<PciDevice*, pc::pci::kDevices * pc::pci::kFunctions> functions_{};
    uint32_t address_ = 0;
};

static_assert(std::is_trivially_copyable_v<PciHost::State> && std::is_standard_layout_v<PciHost::State>);
static_assert(sizeof(PciHost::State) == 8);

}  // namespace previrt::devices
