#include "devices/uart16550.h"

#include <stdint.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "devices/pic8259.h"
#include "kernel/console.h"
#include "kernel/spinlock.h"
#include "kernel/wait_queue.h"
#include "lib/port_io.h"
#include "pc/uart16550.h"

namespace guest::uart {
namespace {

using namespace previrt::pc::uart16550;

constexpr PortIo kCom1{kCom1Base};

constexpr uint32_t kBaud = 115200;
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
        wait_for([](Lsr l) { return l.test(Lsr::kThrEmpty); });
        tx_room = fifo_depth;
    }
    Thr::from_value(static_cast<uint8_t>(c)).write_to(kCom1);
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
    for (uint32_t i = 0; i < Ring::kSize && Lsr::read_from(kCom1).test(Lsr::kDataReady); ++i) {
        char c = static_cast<char>(Rbr::read_from(kCom1).value());
        if (!deliver(r, c)) continue;
        any = true;
        if (echo) emit(c);
    }
    if (any) wake_all(r.readers);
}

void receive_irq(InterruptFrame&) {
    LockGuard g(lock);
    if (loopback)
        drain_into(loopback_ring, false);
    else
        drain_into(console_ring, true);
}

Mcr modem_control(bool loop) {
    return Mcr::from_value(0).set(Mcr::kDtr, 1).set(Mcr::kRts, 1).set(Mcr::kOut2, 1).set(Mcr::kLoop, loop);
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
    Lcr::from_value(0).set(Lcr::kDlab, 1).write_to(kCom1);
    constexpr uint32_t divisor = kBaudBase / kBaud;
    Dll::from_value(static_cast<uint8_t>(divisor)).write_to(kCom1);
    Dlm::from_value(static_cast<uint8_t>(divisor >> 8)).write_to(kCom1);
    Lcr::from_value(0)
        .set(Lcr::kWordLength, Lcr::kEightBits)
        .set(Lcr::kTwoStopBits, 0)
        .set(Lcr::kParity, 0)
        .write_to(kCom1);
    Fcr::from_value(0)
        .set(Fcr::kEnable, 1)
        .set(Fcr::kClearReceive, 1)
        .set(Fcr::kClearTransmit, 1)
        .set(Fcr::kReceiveTrigger, 0)  // an interrupt at 1 byte: typed input is seen at once
        .write_to(kCom1);
    // An 8250 or 16450 has no FIFO, and then THRE frees one slot, not sixteen.
    fifo_depth = Iir::read_from(kCom1).get(Iir::kFifosEnabled) == 0b11 ? kFifoSize : 1;
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
        for (size_t end = done + kFifoSize; done < n && done < end; ++done) emit(s[done]);
    }
}

void enable_rx() {
    register_irq(kIrqCom1, receive_irq);
    {
        LockGuard g(lock);
        Ier::from_value(0).set(Ier::kReceivedData, 1).write_to(kCom1);
        rx_enabled = true;
    }
    pic::unmask(kIrqCom1);
}

size_t read(char* buf, size_t n) { return read_from(console_ring, buf, n); }

void set_loopback(bool on) {
    LockGuard g(lock);
    if (on == loopback) return;
    // Whatever is still in the transmitter belongs to the mode it was sent in.
    wait_for([](Lsr l) { return l.test(Lsr::kTransmitterEmpty); });
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
        looped_without_interrupt = Lsr::read_from(kCom1).test(Lsr::kDataReady);
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
