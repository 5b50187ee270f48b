// The PC board every platform of previrt offers the guest: which device
// model answers which I/O ports, by the models' own constants (IBM PC AT
// Technical Reference, I/O address map). The monitors wire their port buses
// from it, and the in-place VMM and previrt-vmm's side of its channel find a
// port's model in it. Freestanding: constants and a lookup, nothing else.
#pragma once

#include <stdint.h>

#include "devices/cmos_rtc.h"
#include "devices/exit_port.h"
#include "devices/pci_host.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/post_port.h"
#include "devices/uart16550.h"

namespace previrt::devices::board {

enum class Device : uint8_t { None, Pic, Pit, Com1, PciHost, Cmos, ExitPort, Post };

struct PortRange {
    uint16_t base, count;
    Device device;
    const char* name;
};

inline constexpr PortRange kPorts[] = {
    {Pic8259Pair::kMasterBase, Pic8259Pair::kPortsPerChip, Device::Pic, "pic master"},
    {Pic8259Pair::kSlaveBase, Pic8259Pair::kPortsPerChip, Device::Pic, "pic slave"},
    {Pit8254::kBase, Pit8254::kPorts, Device::Pit, "pit"},
    {Pit8254::kPortB, 1, Device::Pit, "port b"},  // the PIT's gate 2 and speaker, as the PC wires them
    {Uart16550::kCom1Base, Uart16550::kPorts, Device::Com1, "com1"},
    {PciHost::kAddressPort, PciHost::kPorts, Device::PciHost, "pci"},
    {CmosRtc::kIndexPort, CmosRtc::kPorts, Device::Cmos, "cmos"},
    {ExitPort::kBase, ExitPort::kPorts, Device::ExitPort, "exit"},
    {PostPort::kPort, 1, Device::Post, "post"},
};

// The device at `port`, or Device::None.
constexpr Device device_at(uint16_t port) {
    for (const PortRange& r : kPorts)
        if (port >= r.base && port - r.base < r.count) return r.device;
    return Device::None;
}

}  // namespace previrt::devices::board
