// The Intel 8254 programmable interval timer, as the PC wires it: ports
// 0x40-0x43, input clock 1.193182 MHz; channel 0 drives IRQ 0 (the scheduler's
// tick); channel 2, gated and read back through port 0x61, measures the TSC's
// rate at boot.
// Manuals: Intel 8254 datasheet, "Control Word Format", "Mode 0" and "Mode 2";
// IBM PC AT Technical Reference, system board I/O port 61h (port B).
#pragma once

#include <stdint.h>

#include "pc/pit8254.h"

namespace guest::pit {

// The PC's timer input, 1.193182 MHz.
using previrt::pc::pit8254::kInputHz;

// Channel 0 as a rate generator (mode 2) at the nearest rate to `hz` that the
// 16-bit divisor allows (about 18.2 Hz to 596 kHz).
void start_periodic(uint32_t hz);

// Channel 0 as a one-shot (mode 0): its interrupt once, `count` input clocks
// (1 to 65536) from now, then none until it is programmed again.
void start_one_shot(uint32_t count);

// Channel 0's current count, latched (a counter latch command, then LSB and
// MSB): how a clocksource reads the PIT.
uint16_t read_channel0();

// TSC ticks per second, measured against channel 2 over three 10 ms one-shot
// windows, keeping the shortest. Interrupts are disabled while it runs (and
// restored after); call it before the timer interrupt is wanted. Returns 0 if
// the timer never answered (no PIT on this platform).
uint64_t calibrate_tsc_hz();

}  // namespace guest::pit
