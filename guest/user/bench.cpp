// Micro-benchmarks, run by the kernel instead of the self-test when asked.
// Output, one line each, for scripts to parse:
//   # previrt guest bench v1: name cycles_per_op iterations
//   # <comment>                      (settings, or an operation that failed)
//   bench <name> <cycles_per_op> <iterations>
//   bench done
// cycles_per_op is in TSC cycles, rounded to an integer; iterations is the
// number of operations the figure is averaged over.
#include <stdint.h>

#include "user/lib/print.h"
#include "user/lib/syscall.h"

using namespace user;

namespace {

constexpr char kProgram[] = "bench";
constexpr uint64_t kPage = 4096;

enum Role : uint64_t {
    kRoleBench = 0,
    kRoleExit = 1,  // exits at once: the other half of spawn_exit
    kRoleEcho = 2,  // parameter: four fds, a byte each: in-read, in-write, out-read, out-write
};

uint64_t g_flags;

bool short_run() { return (g_flags & sys::kFlagShort) != 0; }

void report(const char* name, uint64_t cycles, uint64_t iterations) {
    printf("bench %s %lu %lu\n", name, (cycles + iterations / 2) / iterations, iterations);
}

void report_error(const char* name, const char* what, int64_t error) {
    printf("# %s failed: %s returned %ld\n", name, what, error);
}

void null_syscall() {
    const uint64_t n = short_run() ? 1000 : 100000;
    getpid();
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; ++i) getpid();
    report("null_syscall", rdtsc() - t0, n);
}

// The kernel times these itself: user mode may not cli, and only the kernel
// sees its timer interrupt.
void kernel_side(const char* name, sys::KernelBench bench, uint64_t n) {
    int64_t cycles = kernel_bench(bench, n);
    if (cycles < 0) return report_error(name, "kernel_bench", cycles);
    report(name, static_cast<uint64_t>(cycles), n);
}

void page_fault() {
    uint64_t pages = short_run() ? 32 : 1024;
    // Leave most of memory to the kernel and the other benchmarks.
    int64_t free = info(sys::kInfoFreeFrames);
    if (free > 0 && pages > static_cast<uint64_t>(free) / 4) pages = static_cast<uint64_t>(free) / 4;
    if (pages == 0) return report_error("page_fault", "info(kInfoFreeFrames)", free);
    int64_t a = map(pages * kPage);
    if (a < 0) return report_error("page_fault", "map", a);
    auto* p = reinterpret_cast<volatile uint8_t*>(a);
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < pages; ++i) p[i * kPage] = 1;  // a write, so no zero-page sharing hides the fault
    uint64_t cycles = rdtsc() - t0;
    unmap(static_cast<uint64_t>(a), pages * kPage);
    report("page_fault", cycles, pages);
}

// Two processes pass one byte back and forth over two pipes: each round trip
// is two switches (and two reads and writes, which the figure includes).
void context_switch() {
    const uint64_t round_trips = short_run() ? 50 : 10000;
    int32_t in[2] = {-1, -1}, out[2] = {-1, -1};
    if (int64_t r = pipe(in); r != 0) return report_error("context_switch", "pipe", r);
    if (int64_t r = pipe(out); r != 0) {
        close(in[0]);
        close(in[1]);
        return report_error("context_switch", "pipe", r);
    }
    uint64_t fds = static_cast<uint64_t>(in[0] & 0xff) | static_cast<uint64_t>(in[1] & 0xff) << 8 |
                   static_cast<uint64_t>(out[0] & 0xff) << 16 | static_cast<uint64_t>(out[1] & 0xff) << 24;
    int64_t pid = spawn(kProgram, spawn_arg(kRoleEcho, g_flags, fds));
    // The child's ends: closed here so that the child sees the end of its input.
    close(in[0]);
    close(out[1]);
    int64_t error = pid <= 0 ? pid : 0;
    uint64_t cycles = 0;
    char byte = 'p';
    // The first round trips are a warm-up, outside the timing.
    for (uint64_t i = 0; i < round_trips + 10 && error == 0; ++i) {
        if (i == 10) cycles = rdtsc();
        if (int64_t r = write(in[1], &byte, 1); r != 1) error = r < 0 ? r : -1;
        else if (int64_t r2 = read(out[0], &byte, 1); r2 != 1) error = r2 < 0 ? r2 : -1;
    }
    cycles = rdtsc() - cycles;
    close(in[1]);
    if (pid > 0) {
        int64_t status;
        wait(pid, &status);
    }
    close(out[0]);
    if (error != 0) return report_error("context_switch", pid <= 0 ? "spawn" : "pipe read or write", error);
    report("context_switch", cycles, 2 * round_trips);
}

void spawn_exit() {
    const uint64_t n = short_run() ? 5 : 200;
    uint64_t t0 = 0;
    for (uint64_t i = 0; i <= n; ++i) {
        if (i == 1) t0 = rdtsc();  // the first pair is a warm-up
        int64_t pid = spawn(kProgram, spawn_arg(kRoleExit, g_flags));
        if (pid <= 0) return report_error("spawn_exit", "spawn", pid);
        int64_t status = -1;
        if (int64_t w = wait(pid, &status); w != pid) return report_error("spawn_exit", "wait", w);
        if (status != 0) return report_error("spawn_exit", "the child (its status)", status);
    }
    report("spawn_exit", rdtsc() - t0, n);
}

void timer_delivery() {
    // Each iteration is a tick, so the count is set by time, not by speed.
    int64_t hz = info(sys::kInfoTickHz);
    uint64_t ticks = hz > 0 ? static_cast<uint64_t>(hz) / 2 : 20;
    if (ticks < 20) ticks = 20;
    if (ticks > 500) ticks = 500;
    kernel_side("timer_delivery", sys::kBenchTimerDelivery, short_run() ? 5 : ticks);
}

int run_benchmarks() {
    printf("# previrt guest bench v1: name cycles_per_op iterations\n");
    printf("# tsc_hz %ld tick_hz %ld flags %lu\n", info(sys::kInfoTscHz), info(sys::kInfoTickHz), g_flags);
    const uint64_t kernel_loops = short_run() ? 1000 : 100000;
    null_syscall();
    kernel_side("cli_sti", sys::kBenchCliSti, kernel_loops);
    kernel_side("irqsave_lock", sys::kBenchIrqsaveLock, kernel_loops);
    page_fault();
    context_switch();
    spawn_exit();
    timer_delivery();
    printf("bench done\n");
    return 0;
}

int echo(uint64_t fds) {
    int64_t in_read = fds & 0xff, in_write = (fds >> 8) & 0xff;
    int64_t out_read = (fds >> 16) & 0xff, out_write = (fds >> 24) & 0xff;
    // The parent's ends, inherited: the input ends only once no writer is left.
    close(in_write);
    close(out_read);
    char byte;
    while (read(in_read, &byte, 1) == 1)
        if (write(out_write, &byte, 1) != 1) return 1;
    return 0;
}

}  // namespace

extern "C" int main(uint64_t arg) {
    g_flags = arg_flags(arg);
    switch (arg_role(arg)) {
    case kRoleBench: return run_benchmarks();
    case kRoleExit: return 0;
    case kRoleEcho: return echo(arg_param(arg));
    default: return 127;
    }
}
