#include "kernel/selfcheck.h"

#include "abi/syscalls.h"
#include "arch/x86_64/cpu.h"
#include "devices/pci.h"
#include "devices/pit8254.h"
#include "devices/uart16550.h"
#include "kernel/frames.h"
#include "kernel/process.h"
#include "kernel/spinlock.h"

namespace guest {
namespace {

uint64_t tsc_frequency = 1;
uint64_t tsc_at_boot;
uint64_t command_line_flags;
uint64_t pci_devices;
volatile uint64_t timer_cycles, timer_interrupts;
IrqSaveLock test_lock, nested_lock;

bool interrupts_on() { return cpu::read_flags() & cpu::kFlagIf; }

int64_t test_irqsave() {
    if (!interrupts_on()) return -1;
    uint64_t outer = test_lock.lock();
    bool off_inside = !interrupts_on();
    uint64_t inner = nested_lock.lock();
    bool off_nested = !interrupts_on();
    nested_lock.unlock(inner);
    bool still_off = !interrupts_on();  // the inner unlock restores the outer lock's state: off
    test_lock.unlock(outer);
    bool back_on = interrupts_on();
    return off_inside && off_nested && still_off && back_on ? 0 : -2;
}

int64_t test_cli_sti() {
    cpu::cli();
    bool off = !interrupts_on();
    cpu::sti();
    return off && interrupts_on() ? 0 : -1;
}

int64_t test_ticks() {
    uint64_t start = ticks();
    uint64_t deadline = cpu::rdtsc() + tsc_frequency;  // one second
    while (ticks() < start + 3 && cpu::rdtsc() < deadline) cpu::sti_hlt();
    return ticks() >= start + 3 ? 0 : -1;
}

}  // namespace

void time_init(uint64_t hz) {
    tsc_frequency = hz ? hz : 1;
    tsc_at_boot = cpu::rdtsc();
}
uint64_t tsc_hz() { return tsc_frequency; }
uint64_t boot_tsc() { return tsc_at_boot; }
void set_command_line_flags(uint64_t flags) { command_line_flags = flags; }
void set_pci_devices(uint64_t count) { pci_devices = count; }

void account_timer_interrupt(uint64_t cycles) {
    timer_cycles = timer_cycles + cycles;
    timer_interrupts = timer_interrupts + 1;
}

int64_t kernel_test(uint64_t which, uint64_t) {
    switch (which) {
    case sys::kTestIrqsaveLock: return test_irqsave();
    case sys::kTestCliSti: return test_cli_sti();
    case sys::kTestUartLoopback: return uart::loopback_selftest() ? 0 : -1;
    case sys::kTestTimerTicks: return test_ticks();
    case sys::kTestPciScan: return pci::found_host_bridge() ? 0 : -1;
    default: return sys::kInvalid;
    }
}

int64_t kernel_bench(uint64_t which, uint64_t iterations) {
    uint64_t flags = cpu::read_flags();
    uint64_t start = cpu::rdtsc();
    switch (which) {
    case sys::kBenchCliSti:
        for (uint64_t i = 0; i < iterations; ++i) {
            cpu::cli();
            cpu::sti();
        }
        break;
    case sys::kBenchIrqsaveLock:
        for (uint64_t i = 0; i < iterations; ++i) test_lock.unlock(test_lock.lock());
        break;
    case sys::kBenchTimerDelivery: {
        timer_cycles = 0;
        timer_interrupts = 0;
        uint64_t deadline = start + tsc_frequency * (iterations / 50 + 2);
        while (timer_interrupts < iterations && cpu::rdtsc() < deadline) cpu::sti_hlt();
        cpu::write_flags(flags);
        return static_cast<int64_t>(timer_cycles);
    }
    default: return sys::kInvalid;
    }
    uint64_t cycles = cpu::rdtsc() - start;
    cpu::write_flags(flags);
    return static_cast<int64_t>(cycles);
}

int64_t info(uint64_t what) {
    switch (what) {
    case sys::kInfoTicks: return static_cast<int64_t>(ticks());
    case sys::kInfoTickHz: return kTimerHz;
    case sys::kInfoTscHz: return static_cast<int64_t>(tsc_frequency);
    case sys::kInfoPciDevices: return static_cast<int64_t>(pci_devices);
    case sys::kInfoFreeFrames: return static_cast<int64_t>(frames_free());
    case sys::kInfoArgFlags: return static_cast<int64_t>(command_line_flags);
    default: return sys::kInvalid;
    }
}

}  // namespace guest
