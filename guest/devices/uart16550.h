// The 16550 UART on COM1 (ports 0x3f8-0x3ff, IRQ 4): the console. Output is
// polled; input arrives through the receive interrupt into a ring buffer, with
// the line discipline a terminal expects (CR becomes LF, what is typed is
// echoed). National Semiconductor PC16550D datasheet, "Registers".
#pragma once

#include <stddef.h>

namespace guest::uart {

// 115200 baud, 8N1, FIFOs on; no interrupts yet. Usable for output at once.
void init();
void putc(char c);
void write(const char* s, size_t n);
// Registers the IRQ handler and turns on the receive interrupt.
void enable_rx();
// Blocks until input is there; returns 1..n bytes, stopping after a newline.
size_t read(char* buf, size_t n);
// Loopback: what is sent comes back as received and does not reach the line.
void set_loopback(bool on);
// Sends a few bytes in loopback and checks that the receive interrupt delivered
// them. From process context, interrupts enabled; nothing else may print meanwhile.
bool loopback_selftest();

}  // namespace guest::uart
