#include "kernel/exit_bench.h"

#include <stdint.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "arch/x86_64/paging.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "kernel/console.h"
#include "kernel/process.h"
#include "kernel/selfcheck.h"
#include "pc/post_port.h"
#include "previrt/guest_layout.h"

namespace guest {
namespace {

constexpr uint16_t kUartScratch = 0x3ff;  // COM1's scratch register: a port every platform answers
constexpr uint16_t kUartIer = 0x3f9;      // COM1's interrupt enable register (PC16550D, Table II)
constexpr uint8_t kIerThre = 1u << 1;     // "Enable Transmitter Holding Register Empty Interrupt"
// The top 2 MiB of the kernel window: device memory no platform backs with RAM.
constexpr uint64_t kUnbackedPhys = previrt::layout::kKernelWindowSize - (2ull << 20);

// The PC's POST code port (IBM PC AT BIOS, "manufacturing test port"): a
// byte written there says how far the machine got. Each row writes its number
// before its loop and 0 after, so that a monitor may count what happened in
// between (exits, instructions); anything else ignores the writes.
using previrt::pc::kPostPort;

void report(const char* name, uint64_t cycles, uint64_t iterations) {
    kprintf("exitbench %s %lu %lu\n", name, cycles / iterations, iterations);
}

// One row: `iterations` runs of `op`, between its POST codes, with interrupts
// off and the timer's line masked: what a monitor counts in the window is then
// the operation's own, not the ticks that fell into it (of which a slower
// platform sees more per operation).
template <typename Op>
void row(uint8_t number, const char* name, uint64_t iterations, Op op) {
    pic::mask(kIrqTimer);
    cpu::cli();
    cpu::outb(kPostPort, number);
    uint64_t start = cpu::rdtsc();
    for (uint64_t i = 0; i < iterations; ++i) op(i);
    uint64_t cycles = cpu::rdtsc() - start;
    cpu::outb(kPostPort, 0);
    cpu::sti();
    pic::unmask(kIrqTimer);
    report(name, cycles, iterations);
}

// A row that halts keeps the timer: its interrupt is the wakeup of last
// resort, should a platform lose the awaited one (with the timer masked, a
// boot of 20000 `hlt_wakeup`s with KVM's in-kernel PIC never finished on
// AMD-V). So that it never falls into an operation, the row runs in windows
// that each start the timer as a one-shot of its longest count (55 ms) and
// close within a quarter of that, then wait for its interrupt; the row's
// cycles and counts are the windows' sum.
template <typename Op>
void row_between_ticks(uint8_t number, const char* name, uint64_t iterations, Op op) {
    constexpr uint32_t kLongestCount = 0x10000;
    uint64_t budget = tsc_hz() * kLongestCount / pit::kInputHz / 4, cycles = 0, done = 0;
    // A periodic tick already on its way is taken here, before any window.
    pit::start_one_shot(kLongestCount);
    for (uint64_t tick = ticks(); ticks() == tick;) cpu::sti_hlt();
    while (done < iterations) {
        uint64_t tick = ticks();
        pit::start_one_shot(kLongestCount);
        cpu::outb(kPostPort, number);
        uint64_t start = cpu::rdtsc();
        do op(done++);
        while (done < iterations && cpu::rdtsc() - start < budget);
        cycles += cpu::rdtsc() - start;
        cpu::outb(kPostPort, 0);
        while (ticks() == tick) cpu::sti_hlt();
    }
    pit::start_periodic(kTimerHz);
    report(name, cycles, iterations);
}

}  // namespace

void run_exit_bench(uint64_t n) {
    kprintf("# previrt guest exitbench v2: name cycles_per_op iterations; row k between POST codes k and 0\n");

    row(1, "port_read", n, [](uint64_t) { (void)cpu::inb(kUartScratch); });
    row(2, "port_write", n, [](uint64_t i) { cpu::outb(kUartScratch, static_cast<uint8_t>(i)); });
    // A clocksource's read: latch channel 0, read its two bytes.
    row(3, "pit_read", n, [](uint64_t) { (void)pit::read_channel0(); });
    // A line on the console, as the kernel prints one (fewer: they are output).
    static const char line[] = "# exitbench console_line: 40 bytes ....\n";
    static_assert(sizeof line - 1 == 40);
    row(4, "console_line", n >= 10 ? n / 10 : 1, [](uint64_t) { console_write(line, sizeof line - 1); });

    auto* device = reinterpret_cast<volatile uint32_t*>(paging::map_device(kUnbackedPhys));
    row(5, "mmio_read", n, [device](uint64_t) { (void)*device; });

    // hlt with an interrupt already on its way: turning THRE's enable bit on
    // raises COM1's interrupt at once (THR is empty), so each hlt is woken
    // straight away and the figure is halting and waking, not waiting: the
    // IER writes, the interrupt's delivery, the driver's handler and EOI.
    uint8_t ier = cpu::inb(kUartIer);
    row_between_ticks(6, "hlt_wakeup", n, [ier](uint64_t) {
        cpu::cli();
        cpu::outb(kUartIer, ier | kIerThre);
        cpu::sti_hlt();
        cpu::outb(kUartIer, ier);
    });

    row(7, "loop_baseline", n, [](uint64_t) { asm volatile("nop"); });
    kprintf("exitbench done\n");
}

}  // namespace guest
