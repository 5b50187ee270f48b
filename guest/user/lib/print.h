// Formatted output for user programs. The subset: %d %i %u %x %X %p %s %c %%,
// the length modifiers l, ll and z, a field width, and the '0' and '-' flags.
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace user {

// Formats into a buffer on the stack and hands it to fd 1 in one write (more
// only for output longer than the buffer), so lines from several processes do
// not interleave. Returns the number of characters.
int printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char* fmt, va_list args);
int fdprintf(int fd, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Always NUL-terminates (size > 0); returns the length the whole output needed.
int snprintf(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char* buf, size_t size, const char* fmt, va_list args);

}  // namespace user
