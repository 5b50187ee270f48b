// printf-style formatting into a buffer, for the kernel console.
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace guest {

// Formats at most size - 1 characters and a NUL; returns the characters written.
size_t vformat(char* buf, size_t size, const char* fmt, va_list args);

}  // namespace guest
