#include "devices/uart16550.h"

#include <utility>

#include "devices/reg_field.h"

namespace previrt::devices {
namespace {

using Field = RegField<uint8_t>;

// Register offsets, PC16550D Table II. While LCR.DLAB is set, offsets 0 and 1
// are the divisor latch instead of RBR/THR and IER.
constexpr unsigned kData = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;

// IER: bits 7:4 are always zero.
constexpr Field kIerReceivedData{0}, kIerThrEmpty{1}, kIerLineStatus{2}, kIerModemStatus{3};
constexpr Field kIerWritable{3, 0};

// IIR, Table IV: bit 0 clear while an interrupt is pending, bits 3:1 say which.
constexpr Field kIirNonePending{0}, kIirId{3, 1}, kIirFifosEnabled{7, 6};
constexpr unsigned kIdLineStatus = 0b011, kIdReceivedData = 0b010, kIdThrEmpty = 0b001, kIdModemStatus = 0b000;
constexpr unsigned kNoInterrupt = ~0u;

// FCR. Bits 1 and 2 take effect only together with bit 0 ("FCR0 must be 1
// when other FCR bits are written to or they will not be programmed").
constexpr Field kFcrEnable{0}, kFcrClearReceive{1};

constexpr Field kLcrDlab{7};

// MCR: bits 7:5 are always zero.
constexpr Field kMcrDtr{0}, kMcrRts{1}, kMcrOut1{2}, kMcrOut2{3}, kMcrLoop{4};
constexpr Field kMcrWritable{4, 0};

// LSR. Bit 7 (an error somewhere in the receive FIFO) stays clear: parity,
// framing and break errors never happen on this line.
constexpr Field kLsrDataReady{0}, kLsrOverrun{1}, kLsrErrors{4, 1}, kLsrThrEmpty{5}, kLsrTransmitterEmpty{6};

// MSR: the inverted modem inputs in 7:4, what changed since the last read in 3:0.
constexpr Field kMsrDeltaCts{0}, kMsrDeltaDsr{1}, kMsrTrailingRi{2}, kMsrDeltaDcd{3}, kMsrDeltas{3, 0};
constexpr Field kMsrCts{4}, kMsrDsr{5}, kMsrRi{6}, kMsrDcd{7};

}  // namespace

Uart16550::Uart16550(IrqLine irq, Callback<void(uint8_t)> transmit, uint16_t base)
    : irq_(std::move(irq)), transmit_(std::move(transmit)), base_(base) {
    // Table III: MSR's upper half follows the inputs from reset on, its change bits clear.
    msr_ = modem_inputs();
}

void Uart16550::receive(uint8_t byte) {
    if (kMcrLoop.test(mcr_)) return;
    push_rx(byte);
}

bool Uart16550::can_receive() const { return !kMcrLoop.test(mcr_) && rx_count_ < rx_capacity(); }

uint8_t Uart16550::read8(uint16_t port) {
    unsigned offset = static_cast<uint16_t>(port - base_);
    bool dlab = kLcrDlab.test(lcr_);
    switch (offset) {
        case kData:
            return dlab ? dll_ : pop_rx();
        case kIer:
            return dlab ? dlm_ : ier_;
        case kIirFcr:
            return read_iir();
        case kLcr:
            return lcr_;
        case kMcr:
            return mcr_;
        case kLsr:
            return read_lsr();
        case kMsr:
            return read_msr();
        case kScr:
            return scr_;
        default:
            return 0xff;  // a wide access that ran past the UART
    }
}

void Uart16550::write8(uint16_t port, uint8_t value) {
    unsigned offset = static_cast<uint16_t>(port - base_);
    bool dlab = kLcrDlab.test(lcr_);
    switch (offset) {
        case kData:
            if (dlab)
                dll_ = value;
            else
                send(value);
            break;
        case kIer:
            if (dlab)
                dlm_ = value;
            else
                write_ier(value);
            break;
        case kIirFcr:
            write_fcr(value);
            break;
        case kLcr:
            lcr_ = value;
            break;
        case kMcr:
            write_mcr(value);
            break;
        case kScr:
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
        line_errors_ = kLsrOverrun.set(line_errors_, 1);
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
    if (kMcrLoop.test(mcr_)) {
        push_rx(byte);  // MCR description: the transmitter output is looped to the receiver input
    } else if (transmit_) {
        transmit_(byte);
    }
    thr_interrupt_ = true;
    update_irq();
}

uint8_t Uart16550::read_iir() {
    unsigned id = pending();
    uint8_t value = id == kNoInterrupt ? kIirNonePending.of(1) : kIirId.of(id);
    if (fifo_enabled_) value = kIirFifosEnabled.set(value, 0b11);
    if (id == kIdThrEmpty) {
        thr_interrupt_ = false;
        update_irq();
    }
    return value;
}

uint8_t Uart16550::read_lsr() {
    uint8_t value = line_errors_;
    value = kLsrDataReady.set(value, rx_count_ > 0);
    value = kLsrThrEmpty.set(value, 1);
    value = kLsrTransmitterEmpty.set(value, 1);
    line_errors_ = 0;  // reading LSR clears OE, PE, FE and BI, and with them the line status interrupt
    update_irq();
    return value;
}

uint8_t Uart16550::read_msr() {
    uint8_t value = msr_;
    msr_ = kMsrDeltas.set(msr_, 0);
    update_irq();
    return value;
}

void Uart16550::write_ier(uint8_t value) {
    bool was_enabled = kIerThrEmpty.test(ier_);
    ier_ = value & kIerWritable.mask();
    // Enabling the THRE interrupt while THR is empty (always, here) raises it
    // at once; drivers (Linux's 8250 among them) rely on that to start sending.
    if (!was_enabled && kIerThrEmpty.test(ier_)) thr_interrupt_ = true;
    update_irq();
}

void Uart16550::write_fcr(uint8_t value) {
    bool enable = kFcrEnable.test(value);
    // FCR description: switching between FIFO and 16450 mode empties the FIFOs.
    if (enable != fifo_enabled_) {
        fifo_enabled_ = enable;
        clear_rx();
    }
    if (enable && kFcrClearReceive.test(value)) clear_rx();
    // Clearing the transmit FIFO has nothing to do: it is always empty.
}

void Uart16550::write_mcr(uint8_t value) {
    uint8_t before = modem_inputs();
    mcr_ = value & kMcrWritable.mask();
    uint8_t after = modem_inputs();
    uint8_t deltas = kMsrDeltas.get(msr_);
    if (kMsrCts.test(before ^ after)) deltas |= kMsrDeltaCts.mask();
    if (kMsrDsr.test(before ^ after)) deltas |= kMsrDeltaDsr.mask();
    if (kMsrRi.test(before) && !kMsrRi.test(after)) deltas |= kMsrTrailingRi.mask();  // the trailing edge only
    if (kMsrDcd.test(before ^ after)) deltas |= kMsrDeltaDcd.mask();
    msr_ = kMsrDeltas.set(after, deltas);
    update_irq();
}

// The modem inputs as MSR shows them. In loopback they are MCR's outputs
// (MCR description: RTS to CTS, DTR to DSR, OUT1 to RI, OUT2 to DCD); else the
// host console is a terminal that is always there and ready.
uint8_t Uart16550::modem_inputs() const {
    if (!kMcrLoop.test(mcr_)) return kMsrCts.mask() | kMsrDsr.mask() | kMsrDcd.mask();
    return kMsrCts.of(kMcrRts.get(mcr_)) | kMsrDsr.of(kMcrDtr.get(mcr_)) | kMsrRi.of(kMcrOut1.get(mcr_)) |
           kMsrDcd.of(kMcrOut2.get(mcr_));
}

// The highest-priority enabled interrupt, Table IV: line status, then received
// data, then THR empty, then modem status.
unsigned Uart16550::pending() const {
    if (kIerLineStatus.test(ier_) && kLsrErrors.test(line_errors_)) return kIdLineStatus;
    if (kIerReceivedData.test(ier_) && rx_count_ > 0) return kIdReceivedData;
    if (kIerThrEmpty.test(ier_) && thr_interrupt_) return kIdThrEmpty;
    if (kIerModemStatus.test(ier_) && kMsrDeltas.test(msr_)) return kIdModemStatus;
    return kNoInterrupt;
}

bool Uart16550::interrupt() const { return pending() != kNoInterrupt && kMcrOut2.test(mcr_); }

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
    ier_ = s.ier & kIerWritable.mask();
    lcr_ = s.lcr;
    mcr_ = s.mcr & kMcrWritable.mask();
    scr_ = s.scr;
    dll_ = s.dll;
    dlm_ = s.dlm;
    line_errors_ = s.line_errors & kLsrErrors.mask();
    msr_ = kMsrDeltas.set(modem_inputs(), kMsrDeltas.get(s.msr));
    fifo_enabled_ = s.fifo_enabled;
    thr_interrupt_ = s.thr_interrupt;
    rx_head_ = s.rx_head % kFifoSize;
    rx_count_ = s.rx_count < rx_capacity() ? s.rx_count : rx_capacity();
    rbr_ = s.rbr;
    irq_.restore(interrupt());
}

}  // namespace previrt::devices
