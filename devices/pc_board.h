// The PC board every platform of previrt offers the guest: which device
// model answers which I/O ports, by the PC's constants in abi/pc (IBM PC AT
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
    {pc::pic8259::kMasterBase, pc::pic8259::kPortsPerChip, Device::Pic, "pic master"},
    {pc::pic8259::kSlaveBase, pc::pic8259::kPortsPerChip, Device::Pic, "pic slave"},
    {pc::pit8254::kBase, pc::pit8254::kPorts, Device::Pit, "pit"},
    {pc::pit8254::kPortB, 1, Device::Pit, "port b"},  // the PIT's gate 2 and speaker, as the PC wires them
    {pc::uart16550::kCom1Base, pc::uart16550::kPorts, Device::Com1, "com1"},
    {pc::pci::kConfigAddressPort, pc::pci::kConfigPorts, Device::PciHost, "pci"},
    {pc::cmos::kIndexPort, pc::cmos::kPorts, Device::Cmos, "cmos"},
    {ExitPort::kBase, ExitPort::kPorts, Device::ExitPort, "exit"},
    {PostPort::kPort, 1, Device::Post, "post"},
};

// The device at every port up to the board's last, made from kPorts at
// compile time: the in-place VMM looks a port up on every access it answers,
// and a table is a load where a walk of the ranges is a loop.
constexpr unsigned end_of_ports() {
    unsigned end = 0;
    for (const PortRange& r : kPorts)
        if (r.base + r.count > end) end = r.base + r.count;
    return end;
}
struct PortTable {
    Device device[end_of_ports()];
};
constexpr PortTable port_table() {
    PortTable t{};
    for (const PortRange& r : kPorts)
        for (unsigned p = r.base; p < r.base + r.count; ++p) t.device[p] = r.device;
    return t;
}
inline constexpr PortTable kPortTable = port_table();

// The device at `port`, or Device::None.
constexpr Device device_at(uint16_t port) {
    return port < end_of_ports() ? kPortTable.device[port] : Device::None;
}

}  // namespace previrt::devices::board
