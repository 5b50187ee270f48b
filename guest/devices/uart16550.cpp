#include "devices/uart16550.h"

#include <stdint.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "devices/pic8259.h"
#include "kernel/console.h"
#include "kernel/spinlock.h"
#include "kernel/wait_queue.h"
#include "lib/hwreg.h"

namespace guest::uart {
namespace {

constexpr hwreg::PortIo kCom1{0x3f8};  // IBM PC AT Technical Reference, I/O address map

// Register offsets, PC16550D Table II. Offsets 0 and 1 are the divisor latch
// while LCR.DLAB is set.
constexpr uint32_t kData = 0;  // RBR on read, THR on write
constexpr uint32_t kDivisorLow = 0, kDivisorHigh = 1;

struct Ier : hwreg::Register<Ier, uint8_t> {
    static constexpr uint32_t kOffset = 1;
    HWREG_BIT(0, received_data);  // also the FIFO's character timeout
    HWREG_BIT(1, thr_empty);
    HWREG_BIT(2, line_status);
    HWREG_BIT(3, modem_status);
};

struct Iir : hwreg::Register<Iir, uint8_t> {
    static constexpr uint32_t kOffset = 2;
    HWREG_FIELD(7, 6, fifos_enabled);  // 0b11 when FCR0 took: a 16550 with working FIFOs
};

struct Fcr : hwreg::Register<Fcr, uint8_t> {
    static constexpr uint32_t kOffset = 2;
    HWREG_BIT(0, enable);
    HWREG_BIT(1, clear_receive);
    HWREG_BIT(2, clear_transmit);
    HWREG_FIELD(7, 6, receive_trigger);  // 0b00: interrupt at 1 byte, typed input is seen at once
};

struct Lcr : hwreg::Register<Lcr, uint8_t> {
    static constexpr uint32_t kOffset = 3;
    HWREG_FIELD(1, 0, word_length);  // 0b11: 8 bits
    HWREG_BIT(2, two_stop_bits);
    HWREG_BIT(3, parity);
    HWREG_BIT(7, divisor_latch);
};
constexpr uint8_t kEightBits = 0b11;

struct Mcr : hwreg::Register<Mcr, uint8_t> {
    static constexpr uint32_t kOffset = 4;
    HWREG_BIT(0, dtr);
    HWREG_BIT(1, rts);
    HWREG_BIT(2, out1);
    HWREG_BIT(3, out2);  // the PC's gate between the UART's INTR and the PIC
    HWREG_BIT(4, loop);
};

struct Lsr : hwreg::Register<Lsr, uint8_t> {
    static constexpr uint32_t kOffset = 5;
    HWREG_BIT(0, data_ready);
    HWREG_BIT(1, overrun);
    HWREG_BIT(5, thr_empty);          // in FIFO mode: the whole transmit FIFO is empty
    HWREG_BIT(6, transmitter_empty);  // FIFO and shift register empty: nothing left on the wire
};

// The divisor's base is the 1.8432 MHz crystal over the 16x sampling clock
// ("Programmable Baud Generator"); 115200 baud is divisor 1.
constexpr uint32_t kBaudBase = 115200;
constexpr uint32_t kBaud = 115200;
constexpr unsigned kFifoDepth = 16;  // "FIFO Polled Mode Operation": THRE means 16 free slots
// Status polls before giving up on a UART that never reports ready, so that a
// missing or wedged port cannot hang the console.
constexpr unsigned kPollLimit = 1u << 16;
// Gives up on the loopback bytes after 2^32 cycles: a second or more at any
// real TSC rate, where the bytes take well under a millisecond.
constexpr uint64_t kSelftestCycles = 1ull << 32;

struct Ring {
    static constexpr uint32_t kSize = 1024;
    char data[kSize];
    uint32_t head = 0, count = 0;
    bool after_cr = false;  // a LF that follows a CR was already delivered as the CR
    WaitQueue readers;

    void reset() { head = count = 0, after_cr = false; }
};

// One lock for the port and all state: the interrupt handler both receives and
// echoes, and set_loopback must move both directions at once.
IrqSaveLock lock;
Ring console_ring;   // what read() returns
Ring loopback_ring;  // what the self-test gets back
bool loopback;
bool rx_enabled;
unsigned tx_room;  // transmit slots known free; the FIFO only drains, so this never overstates
unsigned fifo_depth = 1;
char held[1024];  // console output made while in loopback
uint32_t held_count;
bool selftest_running;

void wait_for(bool (*ready)(Lsr)) {
    for (unsigned i = 0; i < kPollLimit && !ready(Lsr::read_from(kCom1)); ++i) cpu::pause();
}

// Lock held. One status read per FIFO-full of bytes, not per byte: each port
// access is an exit when this runs virtualized.
void transmit(char c) {
    if (tx_room == 0) {
        wait_for([](Lsr l) { return l.thr_empty() != 0; });
        tx_room = fifo_depth;
    }
    kCom1.write<uint8_t>(kData, static_cast<uint8_t>(c));
    --tx_room;
}

// Lock held: the console's newline convention, straight to the transmitter.
void send(char c) {
    if (c == '\n') transmit('\r');
    transmit(c);
}

// Lock held: console output, held back while in loopback.
void emit(char c) {
    if (!loopback) {
        send(c);
    } else if (held_count < sizeof held) {
        held[held_count++] = c;
    }
}

// Lock held. Stores `c` as the line discipline has it; false if it was folded
// away or dropped (and so is not echoed either).
bool deliver(Ring& r, char& c) {
    if (c == '\n' && r.after_cr) {
        r.after_cr = false;
        return false;
    }
    r.after_cr = c == '\r';
    if (c == '\r') c = '\n';
    if (r.count == Ring::kSize) return false;  // full: drop
    r.data[(r.head + r.count++) % Ring::kSize] = c;
    return true;
}

// Lock held. Empties the receive FIFO into `r`. Bounded, because a port that
// is not there reads as all ones, data ready included.
void drain_into(Ring& r, bool echo) {
    bool any = false;
    for (uint32_t i = 0; i < Ring::kSize && Lsr::read_from(kCom1).data_ready(); ++i) {
        char c = static_cast<char>(kCom1.read<uint8_t>(kData));
        if (!deliver(r, c)) continue;
        any = true;
        if (echo) emit(c);
    }
    if (any) wake_all(r.readers);
}

void receive_irq(InterruptFrame&) {
    LockGuard g(lock);
    if (loopback) drain_into(loopback_ring, false);
    else drain_into(console_ring, true);
}

Mcr modem_control(bool loop) {
    Mcr m = Mcr::from_value(0);
    m.set_dtr(1).set_rts(1).set_out2(1).set_loop(loop);
    return m;
}

size_t read_from(Ring& r, char* buf, size_t n) {
    if (n == 0) return 0;
    // The check and the sleep are under one lock, and sleep_on lets go of it
    // only once this process is on the queue, so a byte that arrives in
    // between still finds a sleeper to wake.
    uint64_t flags = lock.lock();
    while (r.count == 0) sleep_on(r.readers, lock);
    size_t got = 0;
    while (got < n && r.count > 0) {
        char c = r.data[r.head];
        r.head = (r.head + 1) % Ring::kSize;
        --r.count;
        buf[got++] = c;
        if (c == '\n') break;
    }
    lock.unlock(flags);
    return got;
}

bool fail(const char* why) {
    kprintf("uart: loopback self-test: %s\n", why);
    return false;
}

}  // namespace

void init() {
    LockGuard g(lock);
    Ier::from_value(0).write_to(kCom1);
    Lcr::from_value(0).set_divisor_latch(1).write_to(kCom1);
    constexpr uint32_t divisor = kBaudBase / kBaud;
    kCom1.write<uint8_t>(kDivisorLow, static_cast<uint8_t>(divisor));
    kCom1.write<uint8_t>(kDivisorHigh, static_cast<uint8_t>(divisor >> 8));
    Lcr::from_value(0).set_word_length(kEightBits).set_two_stop_bits(0).set_parity(0).write_to(kCom1);
    Fcr::from_value(0).set_enable(1).set_clear_receive(1).set_clear_transmit(1).set_receive_trigger(0).write_to(
        kCom1);
    // An 8250 or 16450 has no FIFO, and then THRE frees one slot, not sixteen.
    fifo_depth = Iir::read_from(kCom1).fifos_enabled() == 0b11 ? kFifoDepth : 1;
    modem_control(false).write_to(kCom1);
    loopback = false;
    tx_room = 0;
}

void putc(char c) {
    LockGuard g(lock);
    emit(c);
}

void write(const char* s, size_t n) {
    // A FIFO-full at a time, so the lock (and interrupts off) lasts at most one
    // FIFO's drain time even for a long write.
    for (size_t done = 0; done < n;) {
        LockGuard g(lock);
        for (size_t end = done + kFifoDepth; done < n && done < end; ++done) emit(s[done]);
    }
}

void enable_rx() {
    register_irq(kIrqCom1, receive_irq);
    {
        LockGuard g(lock);
        Ier::from_value(0).set_received_data(1).write_to(kCom1);
        rx_enabled = true;
    }
    pic::unmask(kIrqCom1);
}

size_t read(char* buf, size_t n) { return read_from(console_ring, buf, n); }

void set_loopback(bool on) {
    LockGuard g(lock);
    if (on == loopback) return;
    // Whatever is still in the transmitter belongs to the mode it was sent in.
    wait_for([](Lsr l) { return l.transmitter_empty() != 0; });
    if (on) {
        loopback = true;  // from here console output, echoes included, is held
        modem_control(true).write_to(kCom1);
        // The line is disconnected now: what the FIFO holds was typed before.
        drain_into(console_ring, true);
    } else {
        drain_into(loopback_ring, false);
        modem_control(false).write_to(kCom1);
        loopback = false;
        for (uint32_t i = 0; i < held_count; ++i) send(held[i]);
        held_count = 0;
    }
}

bool loopback_selftest() {
    static constexpr char kProbe[] = "ping\n";
    constexpr size_t kLength = sizeof kProbe - 1;
    if (!(cpu::read_flags() & cpu::kFlagIf)) return fail("called with interrupts disabled");
    if (__atomic_exchange_n(&selftest_running, true, __ATOMIC_ACQUIRE)) return fail("already running");

    bool rx_on;
    {
        LockGuard g(lock);
        rx_on = rx_enabled;
    }
    if (!rx_on) {
        __atomic_store_n(&selftest_running, false, __ATOMIC_RELEASE);
        return fail("receive interrupt not enabled");
    }

    set_loopback(true);
    {
        LockGuard g(lock);
        loopback_ring.reset();
        for (char c : kProbe)
            if (c) send(c);  // "ping\r\n" on the wire
    }

    // Spins rather than sleeps: if the interrupt never comes, nothing would
    // wake a sleeper, and the test must fail rather than hang.
    bool arrived = false;
    uint64_t start = cpu::rdtsc();
    while (!arrived && cpu::rdtsc() - start < kSelftestCycles) {
        uint64_t flags = lock.lock();
        arrived = loopback_ring.count >= kLength;
        lock.unlock(flags);
        if (!arrived) cpu::pause();
    }

    char got[kLength + 1] = {};
    size_t n = 0;
    bool looped_without_interrupt = false;
    if (arrived) {
        n = read_from(loopback_ring, got, kLength);
    } else {
        LockGuard g(lock);
        looped_without_interrupt = Lsr::read_from(kCom1).data_ready();
    }
    set_loopback(false);
    __atomic_store_n(&selftest_running, false, __ATOMIC_RELEASE);

    if (!arrived) {
        // Real PC boards gate the IRQ with the OUT2 pin, which loopback forces
        // inactive (PC16550D, MCR bit 4); emulated UARTs deliver it.
        return fail(looped_without_interrupt ? "bytes looped back but no receive interrupt came"
                                             : "nothing came back within the time limit");
    }
    if (n != kLength) return fail("short read");
    for (size_t i = 0; i < kLength; ++i)
        if (got[i] != kProbe[i]) return fail("the bytes came back changed");
    return true;
}

}  // namespace guest::uart
