// The Intel 8259A's registers and the PC/AT's two cascaded chips, declared
// once for the guest's driver and the device model. Manual: Intel
// 8259A/8259A-2 datasheet, "8259A Basic Operation", "Initialization Command
// Words", "Operation Command Words", "Poll Command"; the wiring is the IBM PC
// AT Technical Reference's.
//
// Each chip has two ports, told apart by its A0 input (offset 0 or 1): A0 = 0
// takes ICW1, OCW2 and OCW3 (told apart by D4 and D3) and reads IRR, ISR or
// the poll word; A0 = 1 takes the other ICWs during initialisation, else OCW1,
// the mask.
#pragma once

#include <stdint.h>

#include "pc/hwreg.h"

namespace previrt::pc::pic8259 {

inline constexpr uint16_t kMasterBase = 0x20;  // IBM PC AT Technical Reference, I/O address map
inline constexpr uint16_t kSlaveBase = 0xa0;
inline constexpr uint16_t kPortsPerChip = 2;  // A0 selects one of two ports
inline constexpr unsigned kLinesPerChip = 8;
inline constexpr unsigned kLines = 16;      // IRQ 0-7 on the master, 8-15 on the slave
inline constexpr unsigned kCascadeIrq = 2;  // the master line the slave's INT is wired to
// "Interrupt Sequence": with no request left at the acknowledge the chip
// answers as for IR7, without setting its in-service bit.
inline constexpr unsigned kSpuriousLine = 7;

// ICW1: written to A0 = 0 with D4 set, which is what starts initialisation.
// A7-A5 and ADI are the 8080's call address, nothing to an x86.
struct Icw1 : hwreg::Register<Icw1, uint8_t> {
    static constexpr uint32_t kOffset = 0;
    static constexpr Field kNeedIcw4{0};
    static constexpr Field kSingle{1};          // 0: cascaded, so ICW3 follows
    static constexpr Field kLevelTriggered{3};  // 0: edge, as the ISA bus wants
    static constexpr Field kInit{4};            // 1: this is ICW1 (not OCW2/OCW3)
};

// ICW2 in 8086 mode: T7-T3, the vector of line 0.
struct Icw2 : hwreg::Register<Icw2, uint8_t> {
    static constexpr uint32_t kOffset = 1;
    static constexpr Field kVectorBase{7, 3};
};
// The vector a chip gives: ICW2's T7-T3 with the line in the low three bits.
inline constexpr hwreg::Field<uint8_t> kVectorLine{2, 0};

// On the master, a bit per line that has a slave; on a slave, its ID, which is
// the master line it is wired to.
struct Icw3 : hwreg::Register<Icw3, uint8_t> {
    static constexpr uint32_t kOffset = 1;
    static constexpr Field kSlaveLines{7, 0};  // the master's reading
    static constexpr Field kSlaveId{2, 0};     // a slave's reading
};

// BUF and M/S choose the SP/EN pin's use.
struct Icw4 : hwreg::Register<Icw4, uint8_t> {
    static constexpr uint32_t kOffset = 1;
    static constexpr Field kMode8086{0};  // 1: 8086/8088 mode, the vector comes in one INTA cycle
    static constexpr Field kAutoEoi{1};
    static constexpr Field kSpecialFullyNested{4};
};

// OCW1: the interrupt mask register, a set bit masks the line.
struct Imr : hwreg::Register<Imr, uint8_t> {
    static constexpr uint32_t kOffset = 1;
};

// OCW2: D4 = D3 = 0 tell it apart from ICW1 and OCW3. R, SL and EOI in D7-D5,
// the level for the specific commands in D2-D0.
struct Ocw2 : hwreg::Register<Ocw2, uint8_t> {
    static constexpr uint32_t kOffset = 0;
    static constexpr Field kLevel{2, 0}, kCommand{7, 5};
    static constexpr unsigned kRotateInAeoiClear = 0b000, kNonSpecificEoi = 0b001, kNoOperation = 0b010,
                              kSpecificEoi = 0b011, kRotateInAeoiSet = 0b100, kRotateOnNonSpecificEoi = 0b101,
                              kSetPriority = 0b110, kRotateOnSpecificEoi = 0b111;
};

// OCW3: D4 = 0, D3 = 1. RIS takes effect only with RR, SMM only with ESMM; the
// read-register selection stays until changed ("Reading the 8259A Status").
struct Ocw3 : hwreg::Register<Ocw3, uint8_t> {
    static constexpr uint32_t kOffset = 0;
    static constexpr Field kReadIsr{0}, kReadRegister{1}, kPoll{2}, kIsOcw3{3};
    static constexpr Field kSpecialMask{5}, kEnableSpecialMask{6};
};

// The in-service register, read back from A0 = 0 after OCW3 selected it.
struct Isr : hwreg::Register<Isr, uint8_t> {
    static constexpr uint32_t kOffset = 0;
};

// The poll word, read after a poll command: I, then the highest requesting
// level in W2-W0.
struct PollWord : hwreg::Register<PollWord, uint8_t> {
    static constexpr uint32_t kOffset = 0;
    static constexpr Field kInterrupt{7}, kLevel{2, 0};
};

}  // namespace previrt::pc::pic8259
