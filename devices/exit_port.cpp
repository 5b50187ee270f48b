#include "devices/exit_port.h"

#include <utility>

namespace previrt::devices {

ExitPort::ExitPort(Callback<void(uint8_t status)> on_exit) : on_exit_(std::move(on_exit)) {}

// isa-debug-exit has nothing to read; an open bus reads as all ones.
uint32_t ExitPort::read(uint16_t, unsigned) { return 0xffffffff; }

// Any port of the range and any width: the status is the value's low byte, as
// the exit code of a process is.
void ExitPort::write(uint16_t, unsigned, uint32_t value) {
    status_ = static_cast<uint8_t>(value);
    if (on_exit_) on_exit_(*status_);
}

}  // namespace previrt::devices
