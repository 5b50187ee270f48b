// The 16550A UART's registers and the PC's COM1, declared once for the guest's
// driver and the device model. Manual: National Semiconductor PC16550D
// datasheet, Table II (register summary), Table IV (interrupt control
// functions) and the description of each register.
#pragma once

#include <stdint.h>

#include "pc/hwreg.h"

namespace previrt::pc::uart16550 {

inline constexpr uint16_t kCom1Base = 0x3f8;  // IBM PC AT Technical Reference, I/O address map
inline constexpr unsigned kCom1Irq = 4;
inline constexpr uint16_t kPorts = 8;      // offsets 0-7, Table II
inline constexpr unsigned kFifoSize = 16;  // "FIFO Polled Mode Operation": THRE means 16 free slots
// The divisor's base is the 1.8432 MHz crystal over the 16x sampling clock
// ("Programmable Baud Generator"); 115200 baud is divisor 1.
inline constexpr uint32_t kBaudBase = 115200;

// Register offsets, Table II. While LCR.DLAB is set, offsets 0 and 1 are the
// divisor latch instead of RBR/THR and IER.
struct Rbr : hwreg::Register<Rbr, uint8_t> {  // receiver buffer, on read
    static constexpr uint32_t kOffset = 0;
};
struct Thr : hwreg::Register<Thr, uint8_t> {  // transmitter holding, on write
    static constexpr uint32_t kOffset = 0;
};
struct Dll : hwreg::Register<Dll, uint8_t> {  // divisor latch, low byte
    static constexpr uint32_t kOffset = 0;
};
struct Dlm : hwreg::Register<Dlm, uint8_t> {  // divisor latch, high byte
    static constexpr uint32_t kOffset = 1;
};

// Bits 7:4 are always zero.
struct Ier : hwreg::Register<Ier, uint8_t> {
    static constexpr uint32_t kOffset = 1;
    static constexpr Field kReceivedData{0};  // also the FIFO's character timeout
    static constexpr Field kThrEmpty{1}, kLineStatus{2}, kModemStatus{3};
    static constexpr Field kWritable{3, 0};
};

// Table IV: bit 0 clear while an interrupt is pending, bits 3:1 say which.
struct Iir : hwreg::Register<Iir, uint8_t> {
    static constexpr uint32_t kOffset = 2;
    static constexpr Field kNonePending{0}, kId{3, 1};
    static constexpr Field kFifosEnabled{7, 6};  // 0b11 when FCR0 took: a 16550 with working FIFOs
    static constexpr unsigned kIdLineStatus = 0b011, kIdReceivedData = 0b010, kIdThrEmpty = 0b001,
                              kIdModemStatus = 0b000;
};

// Bits 1 and 2 take effect only together with bit 0 ("FCR0 must be 1 when
// other FCR bits are written to or they will not be programmed").
struct Fcr : hwreg::Register<Fcr, uint8_t> {
    static constexpr uint32_t kOffset = 2;
    static constexpr Field kEnable{0}, kClearReceive{1}, kClearTransmit{2};
    static constexpr Field kReceiveTrigger{7, 6};  // 0b00: interrupt at 1 byte
};

struct Lcr : hwreg::Register<Lcr, uint8_t> {
    static constexpr uint32_t kOffset = 3;
    static constexpr Field kWordLength{1, 0}, kTwoStopBits{2}, kParity{3}, kDlab{7};
    static constexpr unsigned kEightBits = 0b11;  // kWordLength
};

// Bits 7:5 are always zero.
struct Mcr : hwreg::Register<Mcr, uint8_t> {
    static constexpr uint32_t kOffset = 4;
    static constexpr Field kDtr{0}, kRts{1}, kOut1{2};
    static constexpr Field kOut2{3};  // the PC's gate between the UART's INTR and the PIC
    static constexpr Field kLoop{4};
    static constexpr Field kWritable{4, 0};
};

// Bit 7 flags an error somewhere in the receive FIFO.
struct Lsr : hwreg::Register<Lsr, uint8_t> {
    static constexpr uint32_t kOffset = 5;
    static constexpr Field kDataReady{0}, kOverrun{1};
    static constexpr Field kErrors{4, 1};         // OE, PE, FE, BI: cleared by reading LSR
    static constexpr Field kThrEmpty{5};          // in FIFO mode: the whole transmit FIFO is empty
    static constexpr Field kTransmitterEmpty{6};  // FIFO and shift register empty: nothing left on the wire
};

// The inverted modem inputs in 7:4, what changed since the last read in 3:0.
struct Msr : hwreg::Register<Msr, uint8_t> {
    static constexpr uint32_t kOffset = 6;
    static constexpr Field kDeltaCts{0}, kDeltaDsr{1}, kTrailingRi{2}, kDeltaDcd{3}, kDeltas{3, 0};
    static constexpr Field kCts{4}, kDsr{5}, kRi{6}, kDcd{7};
};

struct Scr : hwreg::Register<Scr, uint8_t> {  // scratch
    static constexpr uint32_t kOffset = 7;
};

}  // namespace previrt::pc::uart16550
