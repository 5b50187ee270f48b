// The 8254 programmable interval timer: channel 0 drives IRQ 0 (the scheduler's
// tick); channel 2, gated through port 0x61, measures the TSC's rate at boot.
// Intel 8254 datasheet; the PC/AT's port 0x61 (system control port B).
#pragma once

#include <stdint.h>

namespace guest::pit {

inline constexpr uint32_t kInputHz = 1193182;

void start_periodic(uint32_t hz);
// TSC ticks per second, measured over a few 10 ms windows of channel 2. Call
// before interrupts are enabled.
uint64_t calibrate_tsc_hz();

}  // namespace guest::pit
