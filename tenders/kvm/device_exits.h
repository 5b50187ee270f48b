// The exits that reach previrt-vmm's devices: KVM_EXIT_IO against the port
// bus (string instructions included: `count` accesses in a row), and
// KVM_EXIT_MMIO, for which it has no device. A port or address that nothing
// answers is reported once; reads of it return all ones.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <set>

#include "devices/exit_port.h"
#include "devices/port_bus.h"

namespace previrt::kvm {

class DeviceExits {
public:
    // Reports go to `messages`; `exit_port` is the one on `bus`.
    DeviceExits(devices::PortBus& bus, const devices::ExitPort& exit_port, std::ostream& messages)
        : bus_(bus), exit_port_(exit_port), messages_(messages) {}

    // KVM_EXIT_IO, its data in `run` at io.data_offset. Returns the exit
    // port's status once the guest has written one: the run ends with it.
    std::optional<int> io(kvm_run& run);
    // KVM_EXIT_MMIO.
    void mmio(kvm_run& run);

private:
    void write(uint16_t port, unsigned size, const uint8_t* data);
    void read(uint16_t port, unsigned size, uint8_t* data);
    // Whether `where` is reported for the first time (ports and addresses alike).
    bool first_report(uint64_t where) { return reported_.insert(where).second; }

    devices::PortBus& bus_;
    const devices::ExitPort& exit_port_;
    std::ostream& messages_;
    std::set<uint64_t> reported_;
};

}  // namespace previrt::kvm
