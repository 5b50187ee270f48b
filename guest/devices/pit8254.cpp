#include "devices/pit8254.h"

#include "arch/x86_64/cpu.h"
#include "lib/port_io.h"
#include "pc/pit8254.h"

namespace guest::pit {
namespace {

using namespace previrt::pc::pit8254;

constexpr PortIo kPit{kBase};
constexpr PortIo kSystemControl{kPortB};

constexpr uint32_t kWindowHz = 100;  // 10 ms: long enough that one PIT clock is 0.01 %
constexpr uint32_t kWindowCount = kInputHz / kWindowHz;
static_assert(kWindowCount <= 0xffff, "the window must fit the 16-bit counter");
constexpr int kWindows = 3;
// Gives up on a window after 2^34 cycles (several seconds at any real TSC rate):
// a platform without a PIT then boots, only with no calibration.
constexpr uint64_t kGiveUpCycles = 1ull << 34;

void write_count(uint32_t counter, uint32_t count) {
    kPit.write<uint8_t>(counter, static_cast<uint8_t>(count));
    kPit.write<uint8_t>(counter, static_cast<uint8_t>(count >> 8));
}

// TSC cycles for one window, or 0 if OUT never rose.
uint64_t measure_window(PortB idle) {
    // Gate low while programming: in mode 0 the count is loaded at once but
    // only counts while the gate is high, so the window starts at our write.
    PortB::from_value(idle.value()).set(PortB::kTimer2Gate, 0).write_to(kSystemControl);
    ControlWord::from_value(0)
        .set(ControlWord::kCounter, kCounter2)
        .set(ControlWord::kAccess, ControlWord::kAccessLowThenHigh)
        .set(ControlWord::kMode, ControlWord::kModeTerminalCount)
        .set(ControlWord::kBcd, 0)
        .write_to(kPit);
    write_count(kCounter2, kWindowCount);

    // Every error (the gate write's own latency, a host preempting us, the poll
    // loop's granularity) makes the window look longer, never shorter.
    PortB running = PortB::from_value(idle.value()).set(PortB::kTimer2Gate, 1);
    uint64_t start = cpu::rdtsc();
    running.write_to(kSystemControl);
    while (!PortB::read_from(kSystemControl).test(PortB::kTimer2Out))
        if (cpu::rdtsc() - start > kGiveUpCycles) return 0;
    return cpu::rdtsc() - start;
}

}  // namespace

uint16_t read_channel0() {
    ControlWord::from_value(0)
        .set(ControlWord::kCounter, kCounter0)
        .set(ControlWord::kAccess, ControlWord::kAccessLatch)
        .write_to(kPit);
    uint8_t low = kPit.read<uint8_t>(kCounter0);
    uint8_t high = kPit.read<uint8_t>(kCounter0);
    return static_cast<uint16_t>(low | high << 8);
}

void start_periodic(uint32_t hz) {
    if (hz == 0) return;
    uint32_t divisor = (kInputHz + hz / 2) / hz;
    // Mode 2 needs a count of at least 2 ("Mode 2": a count of 1 is illegal);
    // a written 0 means 65536.
    if (divisor < 2) divisor = 2;
    if (divisor > 0x10000) divisor = 0x10000;
    ControlWord::from_value(0)
        .set(ControlWord::kCounter, kCounter0)
        .set(ControlWord::kAccess, ControlWord::kAccessLowThenHigh)
        .set(ControlWord::kMode, ControlWord::kModeRateGenerator)
        .set(ControlWord::kBcd, 0)
        .write_to(kPit);
    write_count(kCounter0, divisor & 0xffff);
}

void start_one_shot(uint32_t count) {
    if (count == 0) count = 1;
    if (count > 0x10000) count = 0x10000;
    ControlWord::from_value(0)
        .set(ControlWord::kCounter, kCounter0)
        .set(ControlWord::kAccess, ControlWord::kAccessLowThenHigh)
        .set(ControlWord::kMode, ControlWord::kModeTerminalCount)
        .set(ControlWord::kBcd, 0)
        .write_to(kPit);
    write_count(kCounter0, count & 0xffff);  // a written 0 means 65536
}

uint64_t calibrate_tsc_hz() {
    uint64_t flags = cpu::read_flags();
    cpu::cli();
    PortB saved = PortB::read_from(kSystemControl);
    // Bits 4-7 read back status and are ignored on write; the speaker stays
    // off, the window must be silent.
    PortB idle = PortB::from_value(0).set(PortB::kWritable, saved.get(PortB::kWritable)).set(PortB::kSpeakerData, 0);

    // The shortest window is the least disturbed one, since disturbances only
    // lengthen it.
    uint64_t best = 0;
    for (int i = 0; i < kWindows; ++i) {
        uint64_t cycles = measure_window(idle);
        if (cycles && (best == 0 || cycles < best)) best = cycles;
    }

    PortB::from_value(saved.get(PortB::kWritable)).write_to(kSystemControl);
    cpu::write_flags(flags);
    // cycles / (count / kInputHz); no overflow below ~10^13 cycles per window.
    return best * kInputHz / kWindowCount;
}

}  // namespace guest::pit
