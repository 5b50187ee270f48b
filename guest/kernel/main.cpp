// The kernel's start: bring up the PC platform, then run the init program (the
// self-test, or the benchmark) and power off with its exit status.
#include "abi/syscalls.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/interrupts.h"
#include "arch/x86_64/paging.h"
#include "devices/pci.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/uart16550.h"
#include "kernel/boot.h"
#include "kernel/console.h"
#include "kernel/exit_bench.h"
#include "kernel/frames.h"
#include "kernel/process.h"
#include "kernel/selfcheck.h"
#include "kernel/syscall.h"
#include "lib/string.h"
#include "previrt/guest_layout.h"

extern "C" char __kernel_end[];

namespace guest {
namespace {

void check_cpu() {
    cpu::CpuidResult v = cpu::cpuid(0);
    char vendor[13];
    memcpy(vendor, &v.ebx, 4);
    memcpy(vendor + 4, &v.edx, 4);
    memcpy(vendor + 8, &v.ecx, 4);
    vendor[12] = '\0';
    cpu::CpuidResult f = cpu::cpuid(1);
    cpu::CpuidResult ext = cpu::cpuid(0x80000001);
    // Intel SDM Vol. 2A, CPUID: leaf 1 EDX bit 4 TSC; leaf 0x80000001 EDX bit 20 NX, bit 29 long mode.
    bool tsc = f.edx & (1u << 4), nx = ext.edx & (1u << 20), lm = ext.edx & (1u << 29);
    kprintf("cpu: %s, family %u model %u, tsc %s, nx %s, long mode %s\n", vendor, (f.eax >> 8) & 0xf,
            (f.eax >> 4) & 0xf, tsc ? "yes" : "no", nx ? "yes" : "no", lm ? "yes" : "no");
    if (!tsc || !nx || !lm) panic("this kernel needs a TSC, NX and long mode");
}

void timer_irq(InterruptFrame&) { timer_tick(); }

// "triplefault" on the command line: what a platform does with a guest that
// resets the machine (an empty IDT turns the breakpoint into a triple fault).
[[noreturn]] void triple_fault() {
    kprintf("triplefault: as asked on the command line\n");
    cpu::lidt({0, 0});
    asm volatile("int3");
    __builtin_unreachable();
}

// The command line: "init=NAME" picks the first program (default selftest);
// "short" and "echo" become the flags it gets as its argument; "exitbench"
// measures the platform's exits from the kernel instead of running a program,
// "iterations=N" (1 to 1000000) how many of each operation it runs;
// "triplefault" resets the machine, to test how the platform reports it.
const char* parse_command_line(const char* line, char* init, size_t init_size, uint64_t& flags, bool& exit_bench,
                               uint64_t& iterations) {
    const char* name = "selftest";
    flags = 0;
    for (const char* p = line; *p;) {
        while (*p == ' ') ++p;
        const char* word = p;
        while (*p && *p != ' ') ++p;
        size_t n = static_cast<size_t>(p - word);
        if (n == 5 && strncmp(word, "short", 5) == 0) flags |= sys::kFlagShort;
        else if (n == 9 && strncmp(word, "exitbench", 9) == 0) exit_bench = true;
        else if (n == 11 && strncmp(word, "triplefault", 11) == 0) triple_fault();
        else if (n == 4 && strncmp(word, "echo", 4) == 0) flags |= sys::kFlagEcho;
        else if (n > 11 && strncmp(word, "iterations=", 11) == 0) {
            uint64_t value = 0;
            size_t i = 11;
            for (; i < n && word[i] >= '0' && word[i] <= '9' && value <= 1000000; ++i)
                value = value * 10 + static_cast<uint64_t>(word[i] - '0');
            if (i != n || value < 1 || value > 1000000)
                panic("command line: iterations= wants a whole number from 1 to 1000000");
            iterations = value;
        } else if (n > 5 && strncmp(word, "init=", 5) == 0 && n - 5 < init_size) {
            memcpy(init, word + 5, n - 5);
            init[n - 5] = '\0';
            name = init;
        }
    }
    return name;
}

}  // namespace

extern "C" [[noreturn]] void kernel_main(uint64_t magic, uint64_t info_phys) {
    uart::init();
    kprintf("\nprevirt reference guest: booting\n");
    static previrt::boot::BootInfo boot;
    if (!read_boot_info(magic, info_phys, boot)) panic("no usable boot information");
    kprintf("boot: %s entry, command line '%s'\n", magic == previrt::boot::kBootMagic ? "64-bit" : "Multiboot",
            boot.command_line);

    gdt::init();
    idt_init();
    check_cpu();
    frames_init(boot.regions, boot.region_count, previrt::layout::kernel_phys(reinterpret_cast<uint64_t>(__kernel_end)));
    paging::init();
    kprintf("memory: %lu KiB free, RAM up to %lx\n", frames_free() * 4, ram_top());
    scheduler_init();
    syscall_init();

    pic::init();
    uint64_t hz = pit::calibrate_tsc_hz();
    time_init(hz);
    kprintf("time: TSC at %lu kHz\n", hz / 1000);
    register_irq(kIrqTimer, timer_irq);
    pit::start_periodic(kTimerHz);
    set_pci_devices(pci::scan());
    uart::enable_rx();
    cpu::sti();

    char init_name[32];
    uint64_t flags = 0;
    bool exit_bench = false;
    uint64_t iterations = 0;
    const char* init =
        parse_command_line(boot.command_line, init_name, sizeof init_name, flags, exit_bench, iterations);
    set_command_line_flags(flags);
    if (exit_bench) {
        run_exit_bench(iterations ? iterations : (flags & sys::kFlagShort) ? 200 : 20000);
        cpu::power_off(0);
    }
    int64_t pid = spawn(init, flags, nullptr);
    if (pid < 0) panic("cannot start init program '%s' (error %ld)", init, pid);
    int64_t status = run_until_exit(pid);
    kprintf("init (%s) exited with status %ld: powering off\n", init, status);
    cpu::power_off(status < 0 || status > 254 ? 255 : static_cast<uint8_t>(status));
}

}  // namespace guest
