// The PC's CMOS clock and RAM, a Motorola MC146818A: its ports, the address
// map and the registers' fields, declared once. Manual: MC146818A datasheet,
// "Address Map" (Figure 3), "Time, Calendar and Alarm Locations" (Table 3)
// and "Registers" (A to D); the RAM bytes are the PC's: IBM PC AT Technical
// Reference, "CMOS RAM Configuration".
#pragma once

#include <stdint.h>

#include "pc/hwreg.h"

namespace previrt::pc::cmos {

inline constexpr uint16_t kIndexPort = 0x70;
inline constexpr uint16_t kDataPort = 0x71;
inline constexpr uint16_t kPorts = 2;
inline constexpr unsigned kBytes = 128;

// The index write's bits 6:0; bit 7 gates NMI on the PC.
inline constexpr hwreg::Field<uint8_t> kIndex{6, 0};

// Figure 3: the clock's registers; the century byte is the PC's (CMOS RAM map, 32h).
inline constexpr uint8_t kSeconds = 0x00, kMinutes = 0x02, kHours = 0x04, kDayOfWeek = 0x06, kDayOfMonth = 0x07,
                         kMonth = 0x08, kYear = 0x09, kRegisterA = 0x0a, kRegisterB = 0x0b, kRegisterC = 0x0c,
                         kRegisterD = 0x0d, kCentury = 0x32;

// The PC's memory size bytes, in KiB: base memory (15h-16h), extended memory
// above 1 MiB as configured (17h-18h) and as POST found it (30h-31h). 34h-35h,
// memory above 16 MiB in 64 KiB units, is what SeaBIOS and QEMU add.
inline constexpr uint8_t kBaseMemory = 0x15, kExtendedMemory = 0x17, kActualExtendedMemory = 0x30,
                         kMemoryAbove16M = 0x34;

// Register A: UIP (bit 7) is read-only; bits 6:4 choose the time base, 3:0 the
// periodic rate.
struct RegisterA : hwreg::Register<RegisterA, uint8_t> {
    static constexpr uint32_t kOffset = kRegisterA;
    static constexpr Field kUpdateInProgress{7};
};
struct RegisterB : hwreg::Register<RegisterB, uint8_t> {
    static constexpr uint32_t kOffset = kRegisterB;
    static constexpr Field kSet{7}, kBinary{2}, kTwentyFourHour{1};
};
// Register D: VRT, the battery is good and the time valid. Read-only.
struct RegisterD : hwreg::Register<RegisterD, uint8_t> {
    static constexpr uint32_t kOffset = kRegisterD;
    static constexpr Field kValidRamAndTime{7};
};
// Table 3: in 12-hour mode the hours byte carries PM in bit 7.
struct Hours : hwreg::Register<Hours, uint8_t> {
    static constexpr uint32_t kOffset = kHours;
    static constexpr Field kPm{7}, kHours12{6, 0};
};

}  // namespace previrt::pc::cmos
