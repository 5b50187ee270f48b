// What a sensitive operation costs on the platform at hand, measured from the
// kernel (command line "exitbench"): a port read and write the platform's UART
// model answers, a read of the PIT's count, a console line, a read of device
// memory no RAM backs, a halt woken at once. Under a monitor each port or
// device-memory access is one exit unless an in-place VMM answers it; on the
// bare PC (QEMU) each is the device model's cost. Each row is marked with POST
// codes (port 0x80), for monitors that count per row.
#pragma once

#include <stdint.h>

namespace guest {

// Runs `iterations` of each operation (a tenth as many console lines).
void run_exit_bench(uint64_t iterations);

}  // namespace guest
