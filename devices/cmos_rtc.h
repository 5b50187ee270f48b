// The PC's CMOS clock and RAM, a Motorola MC146818A: index port 0x70, data
// port 0x71. Manual: MC146818A datasheet, "Address Map" (Figure 3), "Time,
// Calendar and Alarm Locations" (Table 3, the data modes) and "Registers" (A
// to D). The meaning of the RAM bytes is the PC's: IBM PC AT Technical
// Reference, "CMOS RAM Configuration" (the address map of the 128 bytes).
//
// The clock runs in UTC from a caller's clock, in the format register B
// chooses (BCD and 24-hour after reset; binary and 12-hour on request). An
// update is never in progress (register A's UIP reads zero), because every read
// computes the time afresh. Setting the time (through register B's SET bit or
// by writing a time register) keeps an offset from the caller's clock. No
// interrupts: the periodic, alarm and update-ended flags never rise, so
// register C reads zero and the model has no IRQ 8 line; the alarm bytes are
// plain RAM.
#pragma once

#include <array>
#include <cstdint>

#include "devices/byte_port_device.h"
#include "devices/callback.h"
#include "pc/cmos_rtc.h"

namespace previrt::devices {

class CmosRtc final : public BytePortDevice {
public:
    using Clock = Callback<int64_t()>;

    // `ram_bytes`: the guest's RAM, contiguous from address 0, for the memory
    // size bytes firmware and kernels read. `clock` gives seconds since the
    // Unix epoch; without one the host's time() (in a hosted build; 1970 in a
    // freestanding one, where the caller should give a clock).
    explicit CmosRtc(uint64_t ram_bytes, Clock clock = {});

private:
    uint8_t read8(uint16_t port) override;
    void write8(uint16_t port, uint8_t value) override;

    struct DateTime {
        int64_t year;
        unsigned month, day, hour, minute, second;  // month and day from 1
    };

    uint8_t read_register(uint8_t index);
    void write_register(uint8_t index, uint8_t value);
    void write_register_b(uint8_t value);
    void write_time(uint8_t index, uint8_t value);
    DateTime current() const;
    uint8_t encode(unsigned value) const;
    bool decode(uint8_t raw, unsigned& value) const;

    Clock clock_;
    std::array<uint8_t, pc::cmos::kBytes> ram_{};
    uint8_t index_ = 0;
    int64_t offset_ = 0;  // the guest's time minus the clock's, in seconds
    // The time while register B's SET bit stops the clock, field by field: what
    // the guest wrote need not be a valid date until it clears SET.
    DateTime held_{};
};

}  // namespace previrt::devices
