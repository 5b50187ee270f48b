#include "user/lib/print.h"

#include <stdint.h>

#include "user/lib/syscall.h"
#include "lib/string.h"

namespace user {
namespace {

// Collects output in `buf`. With an fd, a full buffer is written out and
// refilled; without one (snprintf), output past the end is counted, not kept.
struct Sink {
    char* buf;
    size_t cap;
    int fd;
    size_t len = 0;
    size_t total = 0;

    void flush() {
        if (fd >= 0 && len > 0) write_all(fd, buf, len);
        len = 0;
    }
    void put(char c) {
        ++total;
        if (len == cap) {
            if (fd < 0) return;
            flush();
        }
        buf[len++] = c;
    }
    void pad(char c, int n) {
        for (; n > 0; --n) put(c);
    }
};

// The digits of v in `base`, most significant first, into `out` (22 suffices
// for 64 bits in octal or more); returns how many.
int digits(uint64_t v, unsigned base, bool upper, char* out) {
    const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char rev[24];
    int n = 0;
    do {
        rev[n++] = set[v % base];
        v /= base;
    } while (v != 0);
    for (int i = 0; i < n; ++i) out[i] = rev[n - 1 - i];
    return n;
}

void format(Sink& out, const char* fmt, va_list args) {
    for (const char* p = fmt; *p; ++p) {
        if (*p != '%') {
            out.put(*p);
            continue;
        }
        ++p;
        bool zero = false, left = false;
        for (;; ++p) {
            if (*p == '0') zero = true;
            else if (*p == '-') left = true;
            else break;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        int longs = 0;
        for (;; ++p) {
            if (*p == 'l') ++longs;
            else if (*p == 'z') longs = 2;
            else break;
        }

        char text[24];
        const char* s = text;
        int n = 0;
        bool negative = false;
        const char* prefix = "";
        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(args, int64_t) : va_arg(args, int);
            negative = v < 0;
            // Negating in unsigned arithmetic is defined for INT64_MIN too.
            uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
            n = digits(magnitude, 10, false, text);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(args, uint64_t) : va_arg(args, unsigned);
            n = digits(v, *p == 'u' ? 10 : 16, *p == 'X', text);
            break;
        }
        case 'p':
            prefix = "0x";
            n = digits(reinterpret_cast<uint64_t>(va_arg(args, void*)), 16, false, text);
            break;
        case 's':
            s = va_arg(args, const char*);
            if (!s) s = "(null)";
            n = static_cast<int>(strlen(s));
            zero = false;
            break;
        case 'c':
            text[0] = static_cast<char>(va_arg(args, int));
            n = 1;
            zero = false;
            break;
        case '%':
            text[0] = '%';
            n = 1;
            zero = false;
            break;
        case '\0':
            return;  // a lone '%' at the end
        default:     // unknown: shown as written, so the mistake is visible
            out.put('%');
            text[0] = *p;
            n = 1;
            zero = false;
            break;
        }

        int extra = (negative ? 1 : 0) + static_cast<int>(strlen(prefix));
        int fill = width > n + extra ? width - n - extra : 0;
        if (!left && !zero) out.pad(' ', fill);
        if (negative) out.put('-');
        for (const char* q = prefix; *q; ++q) out.put(*q);
        if (!left && zero) out.pad('0', fill);
        for (int i = 0; i < n; ++i) out.put(s[i]);
        if (left) out.pad(' ', fill);
    }
}

}  // namespace

int vsnprintf(char* buf, size_t size, const char* fmt, va_list args) {
    char none;
    Sink out{size > 0 ? buf : &none, size > 0 ? size - 1 : 0, -1};
    format(out, fmt, args);
    if (size > 0) buf[out.len] = '\0';
    return static_cast<int>(out.total);
}

int snprintf(char* buf, size_t size, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf, size, fmt, args);
    va_end(args);
    return n;
}

static int vfdprintf(int fd, const char* fmt, va_list args) {
    char buf[512];
    Sink out{buf, sizeof buf, fd};
    format(out, fmt, args);
    out.flush();
    return static_cast<int>(out.total);
}

int vprintf(const char* fmt, va_list args) { return vfdprintf(1, fmt, args); }

int printf(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = vfdprintf(1, fmt, args);
    va_end(args);
    return n;
}

int fdprintf(int fd, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = vfdprintf(fd, fmt, args);
    va_end(args);
    return n;
}

}  // namespace user
