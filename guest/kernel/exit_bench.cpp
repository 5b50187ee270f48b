#include "kernel/exit_bench.h"

#include <stdint.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "kernel/console.h"
#include "previrt/guest_layout.h"

namespace guest {
namespace {

constexpr uint16_t kUartScratch = 0x3ff;  // COM1's scratch register: a port every platform answers
constexpr uint16_t kUartIer = 0x3f9;      // COM1's interrupt enable register (PC16550D, Table II)
constexpr uint8_t kIerThre = 1u << 1;     // "Enable Transmitter Holding Register Empty Interrupt"
// The top 2 MiB of the kernel window: device memory no platform backs with RAM.
constexpr uint64_t kUnbackedPhys = previrt::layout::kKernelWindowSize - (2ull << 20);

void report(const char* name, uint64_t cycles, uint64_t iterations) {
    kprintf("exitbench %s %lu %lu\n", name, cycles / iterations, iterations);
}

}  // namespace

void run_exit_bench(bool short_run) {
    uint64_t n = short_run ? 200 : 20000;
    kprintf("# previrt guest exitbench v1: name cycles_per_op iterations\n");

    uint64_t start = cpu::rdtsc();
    for (uint64_t i = 0; i < n; ++i) (void)cpu::inb(kUartScratch);
    report("port_read", cpu::rdtsc() - start, n);

    start = cpu::rdtsc();
    for (uint64_t i = 0; i < n; ++i) cpu::outb(kUartScratch, static_cast<uint8_t>(i));
    report("port_write", cpu::rdtsc() - start, n);

    auto* device = reinterpret_cast<volatile uint32_t*>(paging::map_device(kUnbackedPhys));
    start = cpu::rdtsc();
    for (uint64_t i = 0; i < n; ++i) (void)*device;
    report("mmio_read", cpu::rdtsc() - start, n);

    // hlt with an interrupt already on its way: turning THRE's enable bit on
    // raises COM1's interrupt at once (THR is empty), so each hlt is woken
    // straight away and the figure is halting and waking, not waiting: the
    // IER writes, the interrupt's delivery, the driver's handler and EOI.
    uint8_t ier = cpu::inb(kUartIer);
    start = cpu::rdtsc();
    for (uint64_t i = 0; i < n; ++i) {
        cpu::cli();
        cpu::outb(kUartIer, ier | kIerThre);
        cpu::sti_hlt();
        cpu::outb(kUartIer, ier);
    }
    report("hlt_wakeup", cpu::rdtsc() - start, n);

    start = cpu::rdtsc();
    for (uint64_t i = 0; i < n; ++i) asm volatile("nop");
    report("loop_baseline", cpu::rdtsc() - start, n);
    kprintf("exitbench done\n");
}

}  // namespace guest
