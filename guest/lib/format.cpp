#include "lib/format.h"

#include <stdint.h>

namespace guest {
namespace {

struct Out {
    char* buf;
    size_t size;
    size_t n = 0;
    void put(char c) {
        if (n + 1 < size) buf[n] = c;
        ++n;
    }
};

void number(Out& out, uint64_t v, unsigned base, bool negative, int width, char pad) {
    char digits[24];
    int count = 0;
    do {
        unsigned d = static_cast<unsigned>(v % base);
        digits[count++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (negative) digits[count++] = '-';
    for (int i = count; i < width; ++i) out.put(pad);
    while (count) out.put(digits[--count]);
}

}  // namespace

size_t vformat(char* buf, size_t size, const char* fmt, va_list args) {
    Out out{buf, size};
    for (; *fmt; ++fmt) {
        if (*fmt != '%') {
            out.put(*fmt);
            continue;
        }
        ++fmt;
        char pad = ' ';
        if (*fmt == '0') pad = '0', ++fmt;
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        int longs = 0;
        while (*fmt == 'l') ++longs, ++fmt;
        switch (*fmt) {
        case 'd': case 'i': {
            int64_t v = longs ? va_arg(args, int64_t) : va_arg(args, int);
            number(out, v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v), 10, v < 0, width, pad);
            break;
        }
        case 'u': case 'x': {
            uint64_t v = longs ? va_arg(args, uint64_t) : va_arg(args, unsigned);
            number(out, v, *fmt == 'u' ? 10 : 16, false, width, pad);
            break;
        }
        case 'p':
            out.put('0'), out.put('x');
            number(out, reinterpret_cast<uintptr_t>(va_arg(args, void*)), 16, false, 16, '0');
            break;
        case 's': {
            const char* s = va_arg(args, const char*);
            if (!s) s = "(null)";
            while (*s) out.put(*s++);
            break;
        }
        case 'c': out.put(static_cast<char>(va_arg(args, int))); break;
        case '%': out.put('%'); break;
        case '\0': --fmt; break;
        default: out.put('%'), out.put(*fmt); break;
        }
    }
    if (size) buf[out.n < size ? out.n : size - 1] = '\0';
    return out.n < size ? out.n : size - 1;
}

}  // namespace guest
