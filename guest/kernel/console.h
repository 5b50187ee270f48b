// The kernel console: formatted output to COM1, usable from any context
// (output is polled and serialised by an irqsave lock).
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

namespace guest {

// printf subset: %d %i %u %x %lx %llx %ld %lu %lld %llu %p %s %c %%, with a
// width and '0' flag (%08x, %16lx).
void kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char* fmt, va_list args);
void console_write(const char* s, size_t n);

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace guest
