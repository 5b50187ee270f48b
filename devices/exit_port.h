// The exit port: a write ends the guest's run with a status, as QEMU's
// isa-debug-exit device does (there the process exits with (status << 1) | 1;
// a monitor that implements it directly returns the status itself).
// The port is part of the guest ABI: previrt::layout::kExitPort.
#pragma once

#include <cstdint>
#include <optional>

#include "devices/callback.h"

#include "devices/port_device.h"
#include "previrt/guest_layout.h"

namespace previrt::devices {

class ExitPort final : public PortDevice {
public:
    static constexpr uint16_t kBase = layout::kExitPort;
    static constexpr uint16_t kPorts = 4;  // a dword write lands whole

    // `on_exit` is told each status written, for a caller that wants to stop
    // at once rather than poll status().
    explicit ExitPort(Callback<void(uint8_t status)> on_exit = {});

    // The status of the last write (its low byte), or nothing yet.
    std::optional<uint8_t> status() const { return status_; }

    uint32_t read(uint16_t port, unsigned size) override;
    void write(uint16_t port, unsigned size, uint32_t value) override;

private:
    Callback<void(uint8_t)> on_exit_;
    std::optional<uint8_t> status_;
};

}  // namespace previrt::devices
