// The 16550A UART, as the PC has it on COM1 (ports 0x3f8-0x3ff, IRQ 4; the
// registers are pc/uart16550.h's). Manual: National Semiconductor PC16550D
// datasheet: Table II (register summary), Table III (reset state), Table IV
// (interrupt control functions) and the description of each register.
//
// The line is infinitely fast: a byte written to THR leaves at once, so THR,
// the transmit FIFO and the shift register always read as empty (LSR.THRE and
// LSR.TEMT set) and the divisor and line format only read back. For the same
// reason the receive FIFO's trigger level is not modelled: the received-data
// interrupt is pending whenever a byte is waiting, as with a trigger level of
// one, so the character timeout indication (IIR 0xc) is never needed.
//
// The interrupt output is the INTR pin gated by MCR.OUT2, which is how the PC
// wires it to the PIC. In loopback the datasheet forces the OUT2 pin itself
// inactive, so a real PC sees no interrupt then; this model, like QEMU's, gates
// on the MCR.OUT2 bit instead, so a driver's loopback self-test sees its
// receive interrupt (the reference guest's self-test relies on that).
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

#include "devices/byte_port_device.h"
#include "devices/irq_line.h"
#include "pc/uart16550.h"

namespace previrt::devices {

class Uart16550 final : public BytePortDevice {
public:
    // `transmit` gets each byte the guest sends to the line (never in
    // loopback); `irq` is the interrupt output. `base` is the first of the
    // eight ports the caller maps to this UART.
    Uart16550(IrqLine irq, Callback<void(uint8_t)> transmit, uint16_t base = pc::uart16550::kCom1Base);

    // A byte arriving on the line. With the FIFOs off it lands in the one-byte
    // holding register, overwriting an unread byte; with them on it joins the
    // 16-byte FIFO, or is lost if that is full. Either loss sets LSR.OE. In
    // loopback the line is disconnected and the byte is lost too.
    void receive(uint8_t byte);
    // Whether receive() would keep the byte: not in loopback, and room left.
    bool can_receive() const;

    // Everything the UART is, as plain bytes another party may write (a
    // snapshot in guest memory, a migration stream). The base port is the
    // caller's wiring, not state; the interrupt line's level is a function of
    // the registers, which restore() recomputes.
    struct State {
        std::array<uint8_t, pc::uart16550::kFifoSize> rx;  // the receive FIFO's ring
        uint8_t rx_head;                                   // its oldest byte's index, 0-15
        uint8_t rx_count;                                  // bytes waiting: at most 16 with the FIFOs on, else 1
        uint8_t rbr;                                       // what RBR last delivered
        uint8_t ier, lcr, mcr, scr, dll, dlm;
        uint8_t line_errors;              // LSR bits 4:1, kept until LSR is read
        uint8_t msr;                      // the modem inputs (7:4, which follow MCR) and their change bits (3:0)
        uint8_t fifo_enabled;             // 0 or 1
        uint8_t thr_interrupt;            // the THRE interrupt's latch, 0 or 1
        std::array<uint8_t, 3> reserved;  // zero
    };
    State save() const;
    // Becomes the UART that was saved, interrupt line level included, without
    // calling `irq` or `transmit`. Any bytes are accepted: IER and MCR keep
    // their writable bits, line_errors its bits 4:1, MSR's upper half is
    // recomputed from MCR, rx_head is taken modulo 16, rx_count is at most
    // what the FIFO mode holds, and a flag is 1 if non-zero.
    void restore(const State& state);

private:
    uint8_t read8(uint16_t port) override;
    void write8(uint16_t port, uint8_t value) override;

    unsigned rx_capacity() const { return fifo_enabled_ ? pc::uart16550::kFifoSize : 1; }
    void push_rx(uint8_t byte);
    uint8_t pop_rx();
    void clear_rx();
    void send(uint8_t byte);
    uint8_t read_iir();
    uint8_t read_lsr();
    uint8_t read_msr();
    void write_ier(uint8_t value);
    void write_fcr(uint8_t value);
    void write_mcr(uint8_t value);
    uint8_t modem_inputs() const;
    unsigned pending() const;
    bool interrupt() const;
    void update_irq();

    IrqLevel irq_;
    Callback<void(uint8_t)> transmit_;
    uint16_t base_;

    uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0, dll_ = 0, dlm_ = 0;
    uint8_t line_errors_ = 0;  // LSR bits 4:1, kept until LSR is read
    uint8_t msr_ = 0;          // the modem inputs (7:4) and their change bits (3:0)
    bool fifo_enabled_ = false;
    // The THRE interrupt's own latch: set when THR empties or its enable bit is
    // turned on, cleared by writing THR or by reading IIR while it is the
    // source (IIR description; Table IV).
    bool thr_interrupt_ = false;

    std::array<uint8_t, pc::uart16550::kFifoSize> rx_{};
    unsigned rx_head_ = 0, rx_count_ = 0;
    uint8_t rbr_ = 0;  // what RBR last delivered: reading an empty RBR gives it again
};

static_assert(std::is_trivially_copyable_v<Uart16550::State> && std::is_standard_layout_v<Uart16550::State>);
static_assert(sizeof(Uart16550::State) == 32);

}  // namespace previrt::devices
