// The Intel 8254's registers, as the PC wires the timer, and the AT's system
// control port B, declared once for the guest's driver and the device model.
// Manuals: Intel 8254 datasheet, Table 1 "Read/Write Operations Summary",
// "Control Word Format", "Read-Back Command", "Status Byte"; IBM PC AT
// Technical Reference, system board I/O port 61h.
#pragma once

#include <stdint.h>

#include "pc/hwreg.h"

namespace previrt::pc::pit8254 {

inline constexpr uint16_t kBase = 0x40;        // IBM PC AT Technical Reference, I/O address map
inline constexpr uint16_t kPorts = 4;          // counters 0-2 and the control word register
inline constexpr uint16_t kPortB = 0x61;       // system control port B
inline constexpr unsigned kIrq = 0;            // where the PC wires channel 0's OUT
inline constexpr uint32_t kInputHz = 1193182;  // the 14.31818 MHz crystal divided by 12

// A1, A0 select a counter (its offset is its number) or the control word register.
inline constexpr uint32_t kCounter0 = 0, kCounter1 = 1, kCounter2 = 2;

// SC1-SC0 pick the counter (11: the read-back command), RW1-RW0 the access
// (00: the counter latch command), M2-M0 the mode (M2 is a don't care for
// modes 2 and 3, so 6 and 7 are 2 and 3), BCD the number base.
struct ControlWord : hwreg::Register<ControlWord, uint8_t> {
    static constexpr uint32_t kOffset = 3;
    static constexpr Field kBcd{0};  // 0: a 16-bit binary count
    static constexpr Field kMode{3, 1}, kAccess{5, 4}, kCounter{7, 6};
    static constexpr Field kProgramming{5, 0};  // what a counter keeps of it, and its status byte shows
    static constexpr unsigned kSelectReadBack = 0b11;
    static constexpr unsigned kAccessLatch = 0b00, kAccessLsb = 0b01, kAccessMsb = 0b10;
    static constexpr unsigned kAccessLowThenHigh = 0b11;  // LSB first, then MSB
    static constexpr unsigned kModeM2 = 0b100, kModeM1 = 0b010;
    static constexpr unsigned kModeTerminalCount = 0;  // mode 0: OUT low until the count reaches zero, then high
    static constexpr unsigned kModeRateGenerator = 2;  // mode 2: one short OUT pulse every `count` clocks
};

// "Read-Back Command": a control word with SC = 11. COUNT and STATUS are
// active low, CNT2-CNT0 pick the counters.
struct ReadBack : hwreg::Register<ReadBack, uint8_t> {
    static constexpr uint32_t kOffset = 3;
    static constexpr Field kCounters{3, 1}, kStatusN{4}, kCountN{5};
};

// "Status Byte", read from a counter's own port after a read-back: OUT, NULL
// COUNT, then the counter's control word bits 5-0.
struct Status : hwreg::Register<Status, uint8_t> {
    static constexpr Field kOut{7}, kNullCount{6};
};

// Port B, at offset 0 from kPortB: bits 3-0 are written and read back, bit 4
// toggles with each refresh request, bit 5 is channel 2's OUT.
struct PortB : hwreg::Register<PortB, uint8_t> {
    static constexpr uint32_t kOffset = 0;
    static constexpr Field kTimer2Gate{0};
    static constexpr Field kSpeakerData{1};
    static constexpr Field kWritable{3, 0};
    static constexpr Field kRefresh{4};
    static constexpr Field kTimer2Out{5};
};

}  // namespace previrt::pc::pit8254
