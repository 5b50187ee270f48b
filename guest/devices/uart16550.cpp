#include "devices/uart16550.h"

#include <stdint.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "kernel/spinlock.h"
#include "kernel/wait_queue.h"

namespace guest::uart {
namespace {

constexpr uint16_t kBase = 0x3f8;
// Register offsets (PC16550D datasheet, table 2); DLL/DLM when LCR.DLAB is set.
constexpr uint16_t kData = 0, kIer = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5;
constexpr uint16_t kDivisorLow = 0, kDivisorHigh = 1;
constexpr uint8_t kIerReceiveData = 0x01;
constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrClearTx = 0x04, kFcrTrigger1 = 0x00;
constexpr uint8_t kLcr8N1 = 0x03, kLcrDlab = 0x80;
constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut2 = 0x08, kMcrLoop = 0x10;  // OUT2 gates the IRQ line
constexpr uint8_t kLsrDataReady = 0x01, kLsrThrEmpty = 0x20;
constexpr uint32_t kClockHz = 115200;  // the divisor's base: 1.8432 MHz / 16

constexpr size_t kRingSize = 1024;
char ring[kRingSize];
size_t ring_head, ring_count;
IrqSaveLock lock;
WaitQueue readers;
bool loopback;

void out(uint16_t reg, uint8_t v) { cpu::outb(kBase + reg, v); }
uint8_t in(uint16_t reg) { return cpu::inb(kBase + reg); }

void put_raw(char c) {
    for (int spins = 0; !(in(kLsr) & kLsrThrEmpty) && spins < 100000; ++spins) cpu::pause();
    out(kData, static_cast<uint8_t>(c));
}

void receive_irq(InterruptFrame&) {
    LockGuard g(lock);
    while (in(kLsr) & kLsrDataReady) {
        char c = static_cast<char>(in(kData));
        if (c == '\r') c = '\n';
        if (ring_count < kRingSize) ring[(ring_head + ring_count++) % kRingSize] = c;
        if (!loopback) {  // echo, as a terminal's line discipline does
            if (c == '\n') put_raw('\r');
            put_raw(c);
        }
    }
    wake_all(readers);
}

}  // namespace

void init() {
    out(kIer, 0);
    out(kLcr, kLcrDlab);
    uint16_t divisor = kClockHz / 115200;
    out(kDivisorLow, static_cast<uint8_t>(divisor));
    out(kDivisorHigh, static_cast<uint8_t>(divisor >> 8));
    out(kLcr, kLcr8N1);
    out(kFcr, kFcrEnable | kFcrClearRx | kFcrClearTx | kFcrTrigger1);
    out(kMcr, kMcrDtr | kMcrRts | kMcrOut2);
}

void putc(char c) {
    if (c == '\n') put_raw('\r');
    put_raw(c);
}

void write(const char* s, size_t n) {
    LockGuard g(lock);
    for (size_t i = 0; i < n; ++i) putc(s[i]);
}

void enable_rx() {
    register_irq(kIrqCom1, receive_irq);
    out(kIer, kIerReceiveData);
}

size_t read(char* buf, size_t n) {
    uint64_t flags = lock.lock();
    while (ring_count == 0) sleep_on(readers, lock);
    size_t got = 0;
    while (got < n && ring_count) {
        char c = ring[ring_head];
        ring_head = (ring_head + 1) % kRingSize;
        --ring_count;
        buf[got++] = c;
        if (c == '\n') break;
    }
    lock.unlock(flags);
    return got;
}

void set_loopback(bool on) {
    LockGuard g(lock);
    loopback = on;
    out(kMcr, static_cast<uint8_t>(kMcrDtr | kMcrRts | kMcrOut2 | (on ? kMcrLoop : 0)));
}

bool loopback_selftest() {
    static const char probe[] = "ping\n";
    set_loopback(true);
    {
        LockGuard g(lock);
        ring_count = 0;  // nothing typed now may confuse the check
        for (const char* p = probe; *p; ++p) put_raw(*p);
    }
    char got[sizeof probe] = {};
    size_t n = 0;
    // Bounded: the bytes arrive through the interrupt within microseconds, or never.
    uint64_t deadline = cpu::rdtsc() + (1ull << 32);
    while (n < sizeof probe - 1 && cpu::rdtsc() < deadline) {
        uint64_t flags = lock.lock();
        bool ready = ring_count > 0;
        lock.unlock(flags);
        if (ready) n += read(got + n, sizeof probe - 1 - n);
        else cpu::pause();
    }
    set_loopback(false);
    for (size_t i = 0; i < sizeof probe - 1; ++i)
        if (got[i] != probe[i]) return false;
    return n == sizeof probe - 1;
}

}  // namespace guest::uart
