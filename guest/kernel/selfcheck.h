// What the kernel measures and checks on the self-test's and the benchmark's
// behalf (sys::kKernelTest, sys::kKernelBench, sys::kInfo), and the time base.
#pragma once

#include <stdint.h>

namespace guest {

int64_t kernel_test(uint64_t which, uint64_t arg);
int64_t kernel_bench(uint64_t which, uint64_t iterations);
int64_t info(uint64_t what);

void time_init(uint64_t tsc_hz);
uint64_t tsc_hz();
uint64_t boot_tsc();
void set_command_line_flags(uint64_t flags);
void set_pci_devices(uint64_t count);

// The timer interrupt's cost, accumulated by interrupt_dispatch.
void account_timer_interrupt(uint64_t cycles);

}  // namespace guest
