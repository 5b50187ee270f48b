#include "devices/uart16550.h"

#include <utility>

#include "pc/uart16550.h"

namespace previrt::devices {
namespace {

using namespace pc::uart16550;

constexpr unsigned kNoInterrupt = ~0u;

}  // namespace

Uart16550::Uart16550(IrqLine irq, Callback<void(uint8_t)> transmit, uint16_t base)
    : irq_(std::move(irq)), transmit_(std::move(transmit)), base_(base) {
    // Table III: MSR's upper half follows the inputs from reset on, its change bits clear.
    msr_ = modem_inputs();
}

void Uart16550::receive(uint8_t byte) {
    if (Mcr::kLoop.test(mcr_)) return;
    push_rx(byte);
}

bool Uart16550::can_receive() const { return !Mcr::kLoop.test(mcr_) && rx_count_ < rx_capacity(); }

uint8_t Uart16550::read8(uint16_t port) {
    unsigned offset = static_cast<uint16_t>(port - base_);
    bool dlab = Lcr::kDlab.test(lcr_);
    switch (offset) {
        case Rbr::kOffset:
            return dlab ? dll_ : pop_rx();
        case Ier::kOffset:
            return dlab ? dlm_ : ier_;
        case Iir::kOffset:
            return read_iir();
        case Lcr::kOffset:
            return lcr_;
        case Mcr::kOffset:
            return mcr_;
        case Lsr::kOffset:
            return read_lsr();
        case Msr::kOffset:
            return read_msr();
        case Scr::kOffset:
            return scr_;
        default:
            return 0xff;  // a wide access that ran past the UART
    }
}

void Uart16550::write8(uint16_t port, uint8_t value) {
    unsigned offset = static_cast<uint16_t>(port - base_);
    bool dlab = Lcr::kDlab.test(lcr_);
    switch (offset) {
        case Rbr::kOffset:
            if (dlab)
                dll_ = value;
            else
                send(value);
            break;
        case Ier::kOffset:
            if (dlab)
                dlm_ = value;
            else
                write_ier(value);
            break;
        case Iir::kOffset:
            write_fcr(value);
            break;
        case Lcr::kOffset:
            lcr_ = value;
            break;
        case Mcr::kOffset:
            write_mcr(value);
            break;
        case Scr::kOffset:
            scr_ = value;
            break;
        default:
            break;  // LSR and MSR writes are for factory testing only
    }
}

void Uart16550::push_rx(uint8_t byte) {
    if (rx_count_ == rx_capacity()) {
        // LSR description, OE: in FIFO mode the byte in the shift register is
        // lost and the FIFO kept; without FIFOs the new byte overwrites RBR.
        line_errors_ = Lsr::kOverrun.set(line_errors_, 1);
        if (!fifo_enabled_) rx_[rx_head_] = byte;
    } else {
        rx_[(rx_head_ + rx_count_) % kFifoSize] = byte;
        ++rx_count_;
    }
    update_irq();
}

uint8_t Uart16550::pop_rx() {
    if (rx_count_ > 0) {
        rbr_ = rx_[rx_head_];
        rx_head_ = (rx_head_ + 1) % kFifoSize;
        --rx_count_;
        update_irq();
    }
    return rbr_;
}

void Uart16550::clear_rx() {
    rx_head_ = rx_count_ = 0;
    update_irq();
}

// A byte written to THR leaves at once, so THR is empty again right away; the
// THRE latch still drops and rises around it, as on the chip, so an
// edge-triggered PIC sees a new interrupt for every byte a THRE-driven driver
// writes.
void Uart16550::send(uint8_t byte) {
    thr_interrupt_ = false;
    update_irq();
    if (Mcr::kLoop.test(mcr_)) {
        push_rx(byte);  // MCR description: the transmitter output is looped to the receiver input
    } else if (transmit_) {
        transmit_(byte);
    }
    thr_interrupt_ = true;
    update_irq();
}

uint8_t Uart16550::read_iir() {
    unsigned id = pending();
    uint8_t value = id == kNoInterrupt ? Iir::kNonePending.of(1) : Iir::kId.of(id);
    if (fifo_enabled_) value = Iir::kFifosEnabled.set(value, 0b11);
    if (id == Iir::kIdThrEmpty) {
        thr_interrupt_ = false;
        update_irq();
    }
    return value;
}

// Bit 7 (an error somewhere in the receive FIFO) stays clear: parity, framing
// and break errors never happen on this line.
uint8_t Uart16550::read_lsr() {
    uint8_t value = line_errors_;
    value = Lsr::kDataReady.set(value, rx_count_ > 0);
    value = Lsr::kThrEmpty.set(value, 1);
    value = Lsr::kTransmitterEmpty.set(value, 1);
    line_errors_ = 0;  // reading LSR clears OE, PE, FE and BI, and with them the line status interrupt
    update_irq();
    return value;
}

uint8_t Uart16550::read_msr() {
    uint8_t value = msr_;
    msr_ = Msr::kDeltas.set(msr_, 0);
    update_irq();
    return value;
}

void Uart16550::write_ier(uint8_t value) {
    bool was_enabled = Ier::kThrEmpty.test(ier_);
    ier_ = value & Ier::kWritable.mask();
    // Enabling the THRE interrupt while THR is empty (always, here) raises it
    // at once; drivers (Linux's 8250 among them) rely on that to start sending.
    if (!was_enabled && Ier::kThrEmpty.test(ier_)) thr_interrupt_ = true;
    update_irq();
}

void Uart16550::write_fcr(uint8_t value) {
    bool enable = Fcr::kEnable.test(value);
    // FCR description: switching between FIFO and 16450 mode empties the FIFOs.
    if (enable != fifo_enabled_) {
        fifo_enabled_ = enable;
        clear_rx();
    }
    if (enable && Fcr::kClearReceive.test(value)) clear_rx();
    // Clearing the transmit FIFO has nothing to do: it is always empty.
}

void Uart16550::write_mcr(uint8_t value) {
    uint8_t before = modem_inputs();
    mcr_ = value & Mcr::kWritable.mask();
    uint8_t after = modem_inputs();
    uint8_t deltas = Msr::kDeltas.get(msr_);
    if (Msr::kCts.test(before ^ after)) deltas |= Msr::kDeltaCts.mask();
    if (Msr::kDsr.test(before ^ after)) deltas |= Msr::kDeltaDsr.mask();
    if (Msr::kRi.test(before) && !Msr::kRi.test(after)) deltas |= Msr::kTrailingRi.mask();  // the trailing edge only
    if (Msr::kDcd.test(before ^ after)) deltas |= Msr::kDeltaDcd.mask();
    msr_ = Msr::kDeltas.set(after, deltas);
    update_irq();
}

// The modem inputs as MSR shows them. In loopback they are MCR's outputs
// (MCR description: RTS to CTS, DTR to DSR, OUT1 to RI, OUT2 to DCD); else the
// host console is a terminal that is always there and ready.
uint8_t Uart16550::modem_inputs() const {
    if (!Mcr::kLoop.test(mcr_)) return Msr::kCts.mask() | Msr::kDsr.mask() | Msr::kDcd.mask();
    return Msr::kCts.of(Mcr::kRts.get(mcr_)) | Msr::kDsr.of(Mcr::kDtr.get(mcr_)) | Msr::kRi.of(Mcr::kOut1.get(mcr_)) |
           Msr::kDcd.of(Mcr::kOut2.get(mcr_));
}

// The highest-priority enabled interrupt, Table IV: line status, then received
// data, then THR empty, then modem status.
unsigned Uart16550::pending() const {
    if (Ier::kLineStatus.test(ier_) && Lsr::kErrors.test(line_errors_)) return Iir::kIdLineStatus;
    if (Ier::kReceivedData.test(ier_) && rx_count_ > 0) return Iir::kIdReceivedData;
    if (Ier::kThrEmpty.test(ier_) && thr_interrupt_) return Iir::kIdThrEmpty;
    if (Ier::kModemStatus.test(ier_) && Msr::kDeltas.test(msr_)) return Iir::kIdModemStatus;
    return kNoInterrupt;
}

bool Uart16550::interrupt() const { return pending() != kNoInterrupt && Mcr::kOut2.test(mcr_); }

void Uart16550::update_irq() { irq_.set(interrupt()); }

Uart16550::State Uart16550::save() const {
    State s{};
    s.rx = rx_;
    s.rx_head = static_cast<uint8_t>(rx_head_);
    s.rx_count = static_cast<uint8_t>(rx_count_);
    s.rbr = rbr_;
    s.ier = ier_;
    s.lcr = lcr_;
    s.mcr = mcr_;
    s.scr = scr_;
    s.dll = dll_;
    s.dlm = dlm_;
    s.line_errors = line_errors_;
    s.msr = msr_;
    s.fifo_enabled = fifo_enabled_;
    s.thr_interrupt = thr_interrupt_;
    return s;
}

void Uart16550::restore(const State& s) {
    rx_ = s.rx;
    ier_ = s.ier & Ier::kWritable.mask();
    lcr_ = s.lcr;
    mcr_ = s.mcr & Mcr::kWritable.mask();
    scr_ = s.scr;
    dll_ = s.dll;
    dlm_ = s.dlm;
    line_errors_ = s.line_errors & Lsr::kErrors.mask();
    msr_ = Msr::kDeltas.set(modem_inputs(), Msr::kDeltas.get(s.msr));
    fifo_enabled_ = s.fifo_enabled;
    thr_interrupt_ = s.thr_interrupt;
    rx_head_ = s.rx_head % kFifoSize;
    rx_count_ = s.rx_count < rx_capacity() ? s.rx_count : rx_capacity();
    rbr_ = s.rbr;
    irq_.restore(interrupt());
}

}  // namespace previrt::devices
