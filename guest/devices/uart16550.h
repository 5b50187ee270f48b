// The 16550 UART on COM1 (ports 0x3f8-0x3ff, IRQ 4): the kernel console.
// Output is polled; input arrives through the receive interrupt into a ring,
// with the line discipline a terminal expects (CR becomes LF, a LF right after
// a CR is dropped, what is typed is echoed).
// Manual: National Semiconductor PC16550D datasheet, "Registers" (Table II, the
// register summary) and the LCR, LSR, FCR, IIR, IER and MCR descriptions.
//
// Loopback: while it is on, the UART sends nothing to the line and everything
// it transmits comes back as received. Console output (putc, write, and so
// kprintf) made meanwhile is held, up to 1 KiB, and sent when loopback is
// switched off, so a message printed from elsewhere neither vanishes nor lands
// in the self-test's data. A message that must appear before the machine
// stops (a panic) is lost if loopback is on at that moment; keep it on only
// for the self-test's few milliseconds.
#pragma once

#include <stddef.h>

namespace guest::uart {

// 115200 baud, 8N1, FIFOs enabled and cleared, DTR, RTS and OUT2 (which the PC
// uses to connect the UART's interrupt to the PIC). No interrupts yet; usable
// for output at once.
void init();

// '\n' goes out as "\r\n". Any context, interrupts on or off.
void putc(char c);
void write(const char* s, size_t n);

// Registers the receive handler (IRQ 4), enables the receive-data interrupt and
// unmasks the PIC line. Until then read() would block forever.
void enable_rx();

// Blocks until input is there; returns 1..n bytes (0 only if n is 0), stopping
// after a '\n'. Process context, interrupts enabled, no lock held.
size_t read(char* buf, size_t n);

// MCR loopback. While on, received bytes go to the self-test's own ring, never
// to read(), and console output is held (see above).
void set_loopback(bool on);

// Sends "ping\n" through the transmit path in loopback and checks that the
// receive interrupt delivered "ping\n" (the CR LF folded to one LF), read back
// through the same blocking read path. Call from process context with
// interrupts enabled, after enable_rx(). Prints the reason on failure.
bool loopback_selftest();

}  // namespace guest::uart
