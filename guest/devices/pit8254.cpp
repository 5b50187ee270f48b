#include "devices/pit8254.h"

#include "arch/x86_64/cpu.h"

namespace guest::pit {
namespace {

constexpr uint16_t kChannel0 = 0x40, kChannel2 = 0x42, kCommand = 0x43;
constexpr uint16_t kPortB = 0x61;
// Control word (8254 datasheet, "Control Word Format"): channel, lobyte/hibyte access, mode, binary.
constexpr uint8_t kSelectChannel0 = 0x00, kSelectChannel2 = 0x80;
constexpr uint8_t kAccessLoHi = 0x30;
constexpr uint8_t kMode0 = 0x00;  // interrupt on terminal count: OUT goes high when the count runs out
constexpr uint8_t kMode2 = 0x04;  // rate generator
// Port B: bit 0 gates channel 2, bit 1 connects it to the speaker, bit 5 reads its OUT.
constexpr uint8_t kGate2 = 0x01, kSpeaker = 0x02, kOut2 = 0x20;

constexpr uint32_t kWindowMs = 10;

uint64_t measure_once() {
    constexpr uint16_t count = kInputHz * kWindowMs / 1000;
    uint8_t b = cpu::inb(kPortB);
    cpu::outb(kPortB, static_cast<uint8_t>((b & ~kSpeaker) & ~kGate2));
    cpu::outb(kCommand, kSelectChannel2 | kAccessLoHi | kMode0);
    cpu::outb(kChannel2, count & 0xff);
    cpu::outb(kChannel2, count >> 8);
    uint64_t start = cpu::rdtsc();
    cpu::outb(kPortB, static_cast<uint8_t>((b & ~kSpeaker) | kGate2));  // the count starts
    uint64_t limit = 1ull << 34;  // never wait forever on a platform without the timer
    while (!(cpu::inb(kPortB) & kOut2) && cpu::rdtsc() - start < limit) {}
    uint64_t cycles = cpu::rdtsc() - start;
    cpu::outb(kPortB, b);
    return cycles;
}

}  // namespace

void start_periodic(uint32_t hz) {
    uint32_t divisor = kInputHz / hz;
    cpu::outb(kCommand, kSelectChannel0 | kAccessLoHi | kMode2);
    cpu::outb(kChannel0, static_cast<uint8_t>(divisor));
    cpu::outb(kChannel0, static_cast<uint8_t>(divisor >> 8));
}

uint64_t calibrate_tsc_hz() {
    // The shortest of three windows: a longer one was stretched by the host.
    uint64_t best = ~0ull;
    for (int i = 0; i < 3; ++i) {
        uint64_t c = measure_once();
        if (c < best) best = c;
    }
    return best * (1000 / kWindowMs);
}

}  // namespace guest::pit
