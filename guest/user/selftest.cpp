// The boot-time self-test: the kernel runs it as init with the command-line
// flags as its argument. Each check prints `ok <name>` or `FAIL <name>:
// <detail>`; the last line is `<N> passed, <M> failed`, and the exit status is
// 0 only if nothing failed. The same program, spawned with a role in the
// argument (user/lib/syscall.h: spawn_arg), plays the children the checks need.
#include <stdarg.h>
#include <stdint.h>

#include "previrt/guest_layout.h"
#include "user/lib/print.h"
#include "lib/string.h"
#include "user/lib/syscall.h"

using namespace user;
namespace layout = previrt::layout;

namespace {

constexpr char kProgram[] = "selftest";
constexpr uint64_t kPage = 4096;
constexpr int64_t kPageFault = 14, kGeneralProtection = 13;

enum Role : uint64_t {
    kRoleTests = 0,
    kRoleExit42 = 1,
    kRoleTouchUnmapped = 2,
    kRoleTouchKernel = 3,
    kRoleWriteText = 4,
    kRolePrivileged = 5,
    kRoleExecData = 6,
    kRolePipeWriter = 7,     // parameter: the pipe's write fd
    kRoleSpinner = 8,        // parameter: a pipe's write fd, for "I am running"
    kRoleReadAddress = 9,    // parameter: the address to read
    kRoleWriteAddress = 10,  // parameter: the address to write
    kRoleExecAddress = 11,   // parameter: the address to call
};

// Exit statuses of a child meant to be killed: it lived on, or could not even
// set up the access.
constexpr int kSurvived = 1;
constexpr int kSetupFailed = 2;
// The access completed: a read returned a value (which the child prints), a
// write went through, a call into the address returned.
constexpr int kLeaked = 3;

constexpr uint64_t kKernelAddress = layout::kKernelBase + layout::kKernelPhysLoad;

uint64_t g_flags;
char g_detail[200];

const char* fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
const char* fail(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(g_detail, sizeof g_detail, fmt, args);
    va_end(args);
    return g_detail;
}

// ---- the children ----

int touch_unmapped() {
    int64_t a = map(kPage);
    if (a < 0) return kSetupFailed;
    auto* p = reinterpret_cast<volatile uint64_t*>(a);
    *p = 1;
    if (unmap(static_cast<uint64_t>(a), kPage) != 0) return kSetupFailed;
    (void)*p;
    return kSurvived;
}

int touch_kernel() {
    (void)*reinterpret_cast<volatile uint64_t*>(kKernelAddress);
    return kSurvived;
}

int write_text() {
    auto* p = reinterpret_cast<volatile uint8_t*>(&touch_unmapped);
    *p = *p;
    return kSurvived;
}

int exec_data() {
    int64_t a = map(kPage);
    if (a < 0) return kSetupFailed;
    *reinterpret_cast<volatile uint8_t*>(a) = 0xc3;  // ret
    reinterpret_cast<void (*)()>(a)();
    return kSurvived;
}

// The isolation children: one access to an address user mode must not reach.
int read_address(uint64_t address) {
    uint64_t value = *reinterpret_cast<volatile uint64_t*>(address);
    printf("# selftest: user mode read 0x%lx at 0x%lx\n", value, address);
    return kLeaked;
}

int write_address(uint64_t address) {
    *reinterpret_cast<volatile uint64_t*>(address) = 0x64656b61656c;  // "leaked"
    return kLeaked;
}

int exec_address(uint64_t address) {
    reinterpret_cast<void (*)()>(address)();
    return kLeaked;
}

// The same text on both sides of the pipe; longer than one read is likely to
// return, so that short reads are exercised.
constexpr uint64_t kPipeBytes = 3000;
void pipe_message(char* buf) {
    const char text[] = "through the pipe, from the writer child: ";
    for (uint64_t i = 0; i < kPipeBytes; ++i) buf[i] = text[i % (sizeof text - 1)] + static_cast<char>(i / 997);
}

int pipe_writer(int64_t fd) {
    char buf[kPipeBytes];
    pipe_message(buf);
    return write_all(fd, buf, kPipeBytes) == static_cast<int64_t>(kPipeBytes) ? 0 : 3;
}

[[noreturn]] void spinner(int64_t fd) {
    char byte = 's';
    write(fd, &byte, 1);
    for (;;) asm volatile("" ::: "memory");  // no system call from here on
}

// ---- helpers ----

const char* spawn_and_wait(uint64_t role, uint64_t param, int64_t* pid, int64_t* status) {
    *pid = spawn(kProgram, spawn_arg(role, g_flags, param));
    if (*pid <= 0) return fail("spawn returned %ld", *pid);
    int64_t w = wait(*pid, status);
    if (w != *pid) return fail("wait(%ld) returned %ld", *pid, w);
    return nullptr;
}

const char* expect_killed(uint64_t role, int64_t vector, const char* what) {
    int64_t pid, status = -1;
    if (const char* d = spawn_and_wait(role, 0, &pid, &status)) return d;
    if (status == sys::kStatusKilled + vector) return nullptr;
    if (status == kSurvived) return fail("the child %s and lived on", what);
    if (status == kSetupFailed) return fail("the child could not set up (map or unmap failed)");
    return fail("the child %s: status 0x%lx, expected 0x%lx", what, status, sys::kStatusKilled + vector);
}

// Addresses user mode must not reach, and what lies there.
struct Probe {
    uint64_t address;
    const char* what;
};

// Spawns a child that makes one access (the role) to each address; each must
// be killed by a page fault before the access completes.
template <uint64_t N>
const char* expect_isolated(uint64_t role, const Probe (&probes)[N]) {
    const char* access = role == kRoleReadAddress ? "read" : role == kRoleWriteAddress ? "wrote" : "called";
    const char* leak = role == kRoleReadAddress    ? "the value leaked (the child printed it above)"
                       : role == kRoleWriteAddress ? "the write went through"
                                                   : "the call returned";
    const int64_t want = sys::kStatusKilled + kPageFault;
    for (const Probe& p : probes) {
        int64_t pid, status = -1;
        if (const char* d = spawn_and_wait(role, p.address, &pid, &status)) return d;
        if (status == want) continue;
        if (status == kLeaked) return fail("user mode %s %s at 0x%lx: %s", access, p.what, p.address, leak);
        return fail("the child that %s %s at 0x%lx: status 0x%lx, expected 0x%lx", access, p.what, p.address, status,
                    want);
    }
    return nullptr;
}

const char* expect(const char* what, int64_t got, int64_t want) {
    return got == want ? nullptr : fail("%s returned %ld, expected %ld", what, got, want);
}

// ---- the checks: each returns null on success, else the detail ----

const char* check_getpid() {
    int64_t pid = getpid();
    if (pid <= 0) return fail("getpid returned %ld", pid);
    return expect("a second getpid", getpid(), pid);
}

const char* check_write_stdout() {
    const char msg[] = "# selftest: write to fd 1\n";
    return expect("write(1)", write(1, msg, sizeof msg - 1), sizeof msg - 1);
}

const char* check_registers() {
    // Everything but rax, rcx and r11 must come back as it went in.
    register uint64_t rdi asm("rdi") = 0x0101010101010101, rsi asm("rsi") = 0x0202020202020202;
    register uint64_t rdx asm("rdx") = 0x0303030303030303, r10 asm("r10") = 0x0404040404040404;
    register uint64_t r8 asm("r8") = 0x0505050505050505, r9 asm("r9") = 0x0606060606060606;
    register uint64_t rbx asm("rbx") = 0x0707070707070707, r12 asm("r12") = 0x0808080808080808;
    register uint64_t r13 asm("r13") = 0x0909090909090909, r14 asm("r14") = 0x0a0a0a0a0a0a0a0a;
    register uint64_t r15 asm("r15") = 0x0b0b0b0b0b0b0b0b;
    uint64_t rax = sys::kGetpid;
    asm volatile("syscall"
                 : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9), "+r"(rbx),
                   "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15)
                 :
                 : "rcx", "r11", "memory");
    const uint64_t got[] = {rdi, rsi, rdx, r10, r8, r9, rbx, r12, r13, r14, r15};
    const char* names[] = {"rdi", "rsi", "rdx", "r10", "r8", "r9", "rbx", "r12", "r13", "r14", "r15"};
    for (int i = 0; i < 11; ++i)
        if (got[i] != 0x0101010101010101 * static_cast<uint64_t>(i + 1))
            return fail("%s changed to 0x%lx", names[i], got[i]);
    return nullptr;
}

const char* bad_write(uint64_t address, uint64_t size) {
    int64_t r = write(1, reinterpret_cast<const void*>(address), size);
    return r == sys::kFault ? nullptr : fail("write(1, 0x%lx, %lu) returned %ld", address, size, r);
}

const char* check_bad_pointer_null() {
    if (const char* d = bad_write(0, 8)) return d;
    return bad_write(layout::kNullGuardEnd - kPage, 8);
}
const char* check_bad_pointer_kernel() { return bad_write(kKernelAddress, 8); }
const char* check_bad_pointer_noncanonical() {
    if (const char* d = bad_write(0x0000800000000000, 8)) return d;
    if (const char* d = bad_write(0x8000000000000000, 8)) return d;
    return bad_write(0xffff800000000000, 8);  // canonical, but the kernel's half
}
const char* check_bad_pointer_straddle() {
    // Starts in this process's stack, ends past the end of user space.
    if (const char* d = bad_write(layout::kUserStackTop - 8, 16)) return d;
    char buf[8] = {};
    int64_t r = write(1, buf, ~uint64_t{0} - 15);  // the end wraps around
    return r == sys::kFault || r == sys::kInvalid ? nullptr : fail("write of 2^64-16 bytes returned %ld", r);
}

const char* check_bad_fd() {
    char buf[4] = {};
    if (const char* d = expect("read(99)", read(99, buf, 1), sys::kBadFd)) return d;
    if (const char* d = expect("write(99)", write(99, buf, 1), sys::kBadFd)) return d;
    if (const char* d = expect("write(-1)", write(-1, buf, 1), sys::kBadFd)) return d;
    return expect("close(99)", close(99), sys::kBadFd);
}

const char* check_unknown_syscall() {
    if (const char* d = expect("system call 999", syscall(999), sys::kNoSys)) return d;
    if (const char* d = expect("system call kCount", syscall(sys::kCount), sys::kNoSys)) return d;
    return expect("system call 2^64-1", syscall(~uint64_t{0}), sys::kNoSys);
}

const char* check_spawn_missing() {
    if (const char* d = expect("spawn(\"no-such-program\")", spawn("no-such-program", 0), sys::kNoEntry)) return d;
    return expect("spawn(kernel pointer)", spawn(reinterpret_cast<const char*>(kKernelAddress), 0), sys::kFault);
}

const char* check_wait_not_child() {
    int64_t status;
    return expect("wait(own pid)", wait(getpid(), &status), sys::kNoChild);
}

const char* check_kill_missing() { return expect("kill(0x7fffffff)", kill(0x7fffffff), sys::kNoProcess); }

const char* check_info() {
    const sys::Info positive[] = {sys::kInfoTickHz, sys::kInfoTscHz, sys::kInfoPciDevices, sys::kInfoFreeFrames};
    for (sys::Info i : positive)
        if (int64_t v = info(i); v <= 0) return fail("info(%lu) returned %ld", static_cast<uint64_t>(i), v);
    if (const char* d = expect("info(kInfoArgFlags)", info(sys::kInfoArgFlags), static_cast<int64_t>(g_flags)))
        return d;
    int64_t v = info(static_cast<sys::Info>(999));
    return v < 0 ? nullptr : fail("info(999) returned %ld", v);
}

const char* all_zero(uint64_t a, uint64_t size) {
    auto* p = reinterpret_cast<volatile uint64_t*>(a);
    for (uint64_t i = 0; i < size / 8; ++i)
        if (p[i] != 0) return fail("byte 0x%lx of fresh memory at 0x%lx is not zero", i * 8, a);
    return nullptr;
}

const char* check_map() {
    const uint64_t size = 3 * kPage;
    int64_t a = map(size);
    if (a < 0) return fail("map returned %ld", a);
    uint64_t at = static_cast<uint64_t>(a);
    if (at % kPage != 0 || at < layout::kUserHeapBase || at + size > layout::kUserEnd)
        return fail("map returned 0x%lx, outside the heap or not page-aligned", at);
    if (const char* d = all_zero(at, size)) return d;
    auto* p = reinterpret_cast<volatile uint64_t*>(at);
    for (uint64_t i = 0; i < size / 8; ++i) p[i] = (at + i) ^ 0x5a5a5a5a5a5a5a5a;
    for (uint64_t i = 0; i < size / 8; ++i)
        if (p[i] != ((at + i) ^ 0x5a5a5a5a5a5a5a5a)) return fail("word %lu did not read back", i);
    return expect("unmap", unmap(at, size), 0);
}

const char* check_map_frames() {
    // Frames are taken when a page is touched and returned by unmap; memory
    // handed out again is zero, whatever it held before.
    const uint64_t size = 3 * kPage;
    int64_t a = map(size);
    if (a < 0) return fail("map returned %ld", a);
    uint64_t at = static_cast<uint64_t>(a);
    int64_t before = info(sys::kInfoFreeFrames);
    memset(reinterpret_cast<void*>(at), 0xa5, size);
    int64_t touched = info(sys::kInfoFreeFrames);
    if (before - touched < 3) return fail("free frames went from %ld to %ld on touching 3 pages", before, touched);
    if (const char* d = expect("unmap", unmap(at, size), 0)) return d;
    int64_t after = info(sys::kInfoFreeFrames);
    if (after - touched < 3) return fail("free frames went from %ld to %ld on unmapping 3 pages", touched, after);
    a = map(size);
    if (a < 0) return fail("the second map returned %ld", a);
    const char* d = all_zero(static_cast<uint64_t>(a), size);
    unmap(static_cast<uint64_t>(a), size);
    return d;
}

const char* check_killed_unmapped() { return expect_killed(kRoleTouchUnmapped, kPageFault, "read unmapped memory"); }
const char* check_killed_kernel() { return expect_killed(kRoleTouchKernel, kPageFault, "read kernel memory"); }
const char* check_killed_text_write() { return expect_killed(kRoleWriteText, kPageFault, "wrote its own text"); }
const char* check_killed_privileged() { return expect_killed(kRolePrivileged, kGeneralProtection, "ran hlt"); }
const char* check_killed_nx() { return expect_killed(kRoleExecData, kPageFault, "executed mapped data"); }

// Isolation: whatever the platform (bare PC, a hypervisor in a Linux process,
// KVM), user mode reaches neither the kernel window nor the in-place VMM's hole.
constexpr Probe kKernelData[] = {
    {kKernelAddress, "the kernel image"},
    {layout::kKernelBase, "the start of the kernel window"},
};
constexpr Probe kKernelCode[] = {
    {kKernelAddress, "the kernel image"},
    {kKernelAddress + kPage, "the kernel text"},  // guest/kernel.ld: the text follows the header page
};
constexpr Probe kVmmHole[] = {
    {layout::kVmmHoleBase, "the start of the VMM hole"},
    {layout::kVmmHoleEnd - kPage, "the last page of the VMM hole"},
};

const char* check_isolation_kernel_read() { return expect_isolated(kRoleReadAddress, kKernelData); }
const char* check_isolation_kernel_write() { return expect_isolated(kRoleWriteAddress, kKernelData); }
const char* check_isolation_vmm_hole_read() { return expect_isolated(kRoleReadAddress, kVmmHole); }
const char* check_isolation_kernel_exec() { return expect_isolated(kRoleExecAddress, kKernelCode); }

const char* check_spawn_exit_wait() {
    int64_t pid, status = -1;
    if (const char* d = spawn_and_wait(kRoleExit42, 0, &pid, &status)) return d;
    if (status != 42) return fail("status %ld, expected 42", status);
    // Reaped, so no longer a child (a kernel may also say it no longer exists).
    int64_t again = wait(pid, &status);
    return again == sys::kNoChild || again == sys::kNoProcess ? nullptr
                                                               : fail("a second wait for the reaped child returned %ld", again);
}

const char* check_pipe() {
    int32_t fds[2] = {-1, -1};
    if (int64_t r = pipe(fds); r != 0) return fail("pipe returned %ld", r);
    int64_t pid = spawn(kProgram, spawn_arg(kRolePipeWriter, g_flags, static_cast<uint64_t>(fds[1])));
    close(fds[1]);  // else the end of the pipe never comes
    if (pid <= 0) {
        close(fds[0]);
        return fail("spawn returned %ld", pid);
    }
    char want[kPipeBytes], got[kPipeBytes];
    pipe_message(want);
    const char* detail = nullptr;
    uint64_t n = 0;
    while (n < kPipeBytes) {
        int64_t r = read(fds[0], got + n, kPipeBytes - n);
        if (r <= 0) {
            detail = fail("read returned %ld after %lu of %lu bytes", r, n, kPipeBytes);
            break;
        }
        n += static_cast<uint64_t>(r);
    }
    int64_t status = -1;
    int64_t w = wait(pid, &status);
    if (!detail && memcmp(want, got, kPipeBytes) != 0) detail = fail("the bytes read differ from those written");
    if (!detail && (w != pid || status != 0)) detail = fail("wait returned %ld, status %ld", w, status);
    if (!detail) {
        char byte;
        if (int64_t r = read(fds[0], &byte, 1); r != 0) detail = fail("read after the writer exited returned %ld", r);
    }
    close(fds[0]);
    return detail;
}

const char* check_pipe_errors() {
    if (const char* d = expect("pipe(kernel pointer)", pipe(reinterpret_cast<int32_t*>(kKernelAddress)), sys::kFault))
        return d;
    int32_t fds[2] = {-1, -1};
    if (int64_t r = pipe(fds); r != 0) return fail("pipe returned %ld", r);
    const char* d = expect("write", write(fds[1], "x", 1), 1);
    if (!d) d = expect("read into kernel memory", read(fds[0], reinterpret_cast<void*>(kKernelAddress), 1), sys::kFault);
    if (!d) d = expect("close", close(fds[0]), 0);
    if (!d) d = expect("write with no reader", write(fds[1], "x", 1), sys::kBrokenPipe);
    if (!d) d = expect("a second close", close(fds[0]), sys::kBadFd);
    close(fds[0]);
    close(fds[1]);
    return d;
}

const char* check_preemption() {
    int32_t fds[2] = {-1, -1};
    if (int64_t r = pipe(fds); r != 0) return fail("pipe returned %ld", r);
    int64_t pid = spawn(kProgram, spawn_arg(kRoleSpinner, g_flags, static_cast<uint64_t>(fds[1])));
    if (pid <= 0) {
        close(fds[0]);
        close(fds[1]);
        return fail("spawn returned %ld", pid);
    }
    const char* detail = nullptr;
    char byte;
    if (int64_t r = read(fds[0], &byte, 1); r != 1) detail = fail("read from the spinner returned %ld", r);
    // yield hands the processor to the spinner, which makes no system call:
    // only the tick brings this process back, so a tick passes inside yield.
    bool preempted = false;
    for (int i = 0; i < 10 && !detail && !preempted; ++i) {
        int64_t t0 = info(sys::kInfoTicks);
        yield();
        preempted = info(sys::kInfoTicks) > t0;
    }
    if (!detail && !preempted) detail = fail("no yield lasted a tick: did it run the spinner?");
    int64_t k = kill(pid);
    int64_t status;
    int64_t w = wait(pid, &status);
    close(fds[0]);
    close(fds[1]);
    if (!detail && k != 0) detail = fail("kill returned %ld", k);
    if (!detail && w != pid) detail = fail("wait after kill returned %ld", w);
    return detail;
}

const char* check_clock() {
    int64_t first = clock();
    if (first < 0) return fail("clock returned %ld", first);
    int64_t last = first;
    Deadline busy(20), limit(1000);
    while (!busy.passed() || (last == first && !limit.passed())) {
        int64_t now = clock();
        if (now < last) return fail("clock went back from %ld to %ld", last, now);
        last = now;
    }
    return last > first ? nullptr : fail("clock stayed at %ld ns for a second", first);
}

const char* check_ticks() {
    int64_t t0 = info(sys::kInfoTicks), t = t0;
    if (t0 < 0) return fail("info(kInfoTicks) returned %ld", t0);
    Deadline limit(2000);
    while (t < t0 + 3 && !limit.passed()) {
        yield();
        t = info(sys::kInfoTicks);
    }
    return t >= t0 + 3 ? nullptr : fail("ticks went only from %ld to %ld in 2 s", t0, t);
}

template <sys::KernelTest test>
const char* check_kernel() {
    int64_t r = kernel_test(test);
    return r == 0 ? nullptr : fail("kernel_test(%lu) returned %ld", static_cast<uint64_t>(test), r);
}

const char* check_echo() {
    printf("echo> ");
    char line[128];
    uint64_t n = 0;
    while (n < sizeof line - 1) {
        char c;
        int64_t r = read(0, &c, 1);
        if (r != 1) return fail("read(0) returned %ld", r);
        if (c == '\n' || c == '\r') break;
        line[n++] = c;
    }
    line[n] = '\0';
    printf("echo: %s\n", line);
    return nullptr;
}

struct Check {
    const char* name;
    const char* (*run)();
};

// The map checks come before any child: frame counts are steadiest then.
constexpr Check kChecks[] = {
    {"getpid", check_getpid},
    {"write_stdout", check_write_stdout},
    {"syscall_preserves_registers", check_registers},
    {"bad_pointer_null", check_bad_pointer_null},
    {"bad_pointer_kernel", check_bad_pointer_kernel},
    {"bad_pointer_noncanonical", check_bad_pointer_noncanonical},
    {"bad_pointer_straddle", check_bad_pointer_straddle},
    {"bad_fd", check_bad_fd},
    {"unknown_syscall", check_unknown_syscall},
    {"spawn_missing", check_spawn_missing},
    {"wait_not_child", check_wait_not_child},
    {"kill_missing", check_kill_missing},
    {"info", check_info},
    {"map", check_map},
    {"map_frames", check_map_frames},
    {"killed_unmapped_access", check_killed_unmapped},
    {"killed_kernel_access", check_killed_kernel},
    {"killed_text_write", check_killed_text_write},
    {"killed_privileged", check_killed_privileged},
    {"killed_nx_data", check_killed_nx},
    {"isolation_user_read_kernel_faults", check_isolation_kernel_read},
    {"isolation_user_write_kernel_faults", check_isolation_kernel_write},
    {"isolation_user_read_vmm_hole_faults", check_isolation_vmm_hole_read},
    {"isolation_user_exec_kernel_faults", check_isolation_kernel_exec},
    {"spawn_exit_wait", check_spawn_exit_wait},
    {"pipe", check_pipe},
    {"pipe_errors", check_pipe_errors},
    {"preemption", check_preemption},
    {"clock", check_clock},
    {"ticks", check_ticks},
    {"kernel_irqsave_lock", check_kernel<sys::kTestIrqsaveLock>},
    {"kernel_cli_sti", check_kernel<sys::kTestCliSti>},
    {"kernel_uart_loopback", check_kernel<sys::kTestUartLoopback>},
    {"kernel_timer_ticks", check_kernel<sys::kTestTimerTicks>},
    {"kernel_pci_scan", check_kernel<sys::kTestPciScan>},
};

int passed, failed;

void run(const char* name, const char* (*check)()) {
    const char* detail = check();
    if (detail) {
        ++failed;
        printf("FAIL %s: %s\n", name, detail);
    } else {
        ++passed;
        printf("ok %s\n", name);
    }
}

int run_tests() {
    for (const Check& c : kChecks) run(c.name, c.run);
    if (g_flags & sys::kFlagEcho) run("console_echo", check_echo);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

}  // namespace

extern "C" int main(uint64_t arg) {
    g_flags = arg_flags(arg);
    switch (arg_role(arg)) {
    case kRoleTests: return run_tests();
    case kRoleExit42: return 42;
    case kRoleTouchUnmapped: return touch_unmapped();
    case kRoleTouchKernel: return touch_kernel();
    case kRoleWriteText: return write_text();
    case kRolePrivileged: asm volatile("hlt"); return kSurvived;
    case kRoleExecData: return exec_data();
    case kRolePipeWriter: return pipe_writer(static_cast<int64_t>(arg_param(arg)));
    case kRoleSpinner: spinner(static_cast<int64_t>(arg_param(arg)));
    case kRoleReadAddress: return read_address(arg_param(arg));
    case kRoleWriteAddress: return write_address(arg_param(arg));
    case kRoleExecAddress: return exec_address(arg_param(arg));
    default: return 127;  // a role this program does not know
    }
}
