// The PC's POST code port, 0x80 (pc/post_port.h): a byte written there says
// how far the machine got (the AT BIOS's power-on self-test writes its
// progress there, for a diagnostic card to show). A monitor can count what
// happens between two codes; the model keeps the last one, and a read gives it
// back, as the chipsets that latch the port do.
#pragma once

#include <cstdint>
#include <utility>

#include "devices/callback.h"
#include "devices/port_device.h"
#include "pc/post_port.h"

namespace previrt::devices {

class PostPort final : public PortDevice {
public:
    static constexpr uint16_t kPort = pc::kPostPort;

    // `on_code` is told each code written.
    explicit PostPort(Callback<void(uint8_t code)> on_code = {}) : on_code_(std::move(on_code)) {}

    uint8_t code() const { return code_; }

    uint32_t read(uint16_t, unsigned) override { return code_; }
    // Any width: the code is the value's low byte.
    void write(uint16_t, unsigned, uint32_t value) override {
        code_ = static_cast<uint8_t>(value);
        if (on_code_) on_code_(code_);
    }

private:
    Callback<void(uint8_t)> on_code_;
    uint8_t code_ = 0;
};

}  // namespace previrt::devices
