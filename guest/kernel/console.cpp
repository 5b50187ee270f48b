#include "kernel/console.h"

#include "arch/x86_64/cpu.h"
#include "devices/uart16550.h"
#include "kernel/spinlock.h"
#include "lib/format.h"

namespace guest {
namespace {

IrqSaveLock lock;  // one message at a time

}  // namespace

void console_write(const char* s, size_t n) {
    LockGuard g(lock);
    uart::write(s, n);
}

void kvprintf(const char* fmt, va_list args) {
    char buf[512];
    size_t n = vformat(buf, sizeof buf, fmt, args);
    console_write(buf, n);
}

void kprintf(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    kvprintf(fmt, args);
    va_end(args);
}

void panic(const char* fmt, ...) {
    cpu::cli();
    va_list args;
    va_start(args, fmt);
    kprintf("\nkernel panic: ");
    kvprintf(fmt, args);
    kprintf("\n");
    va_end(args);
    cpu::power_off(0xff);
}

}  // namespace guest
