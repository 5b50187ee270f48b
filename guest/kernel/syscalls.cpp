// The system calls (abi/syscalls.h), behind the entry in syscall_entry.S.
#include "abi/syscalls.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "kernel/console.h"
#include "kernel/file.h"
#include "kernel/frames.h"
#include "kernel/process.h"
#include "kernel/selfcheck.h"
#include "kernel/syscall.h"
#include "kernel/user_memory.h"
#include "previrt/guest_layout.h"

extern "C" void syscall_entry();

namespace guest {
namespace {

namespace layout = previrt::layout;

File* file_at(uint64_t fd) { return fd < kMaxFiles ? current()->files[fd] : nullptr; }

int64_t sys_write(uint64_t fd, uint64_t buf, uint64_t size) {
    File* f = file_at(fd);
    return f ? file_write(f, buf, size) : sys::kBadFd;
}

int64_t sys_read(uint64_t fd, uint64_t buf, uint64_t size) {
    File* f = file_at(fd);
    return f ? file_read(f, buf, size) : sys::kBadFd;
}

int64_t sys_spawn(uint64_t user_name, uint64_t arg) {
    char name[32];
    if (int64_t e = copy_string_from_user(name, user_name, sizeof name); e < 0) return e;
    return spawn(name, arg, current());
}

int64_t sys_wait(uint64_t pid, uint64_t user_status) {
    if (!user_range_ok(user_status, sizeof(int64_t))) return sys::kFault;
    int64_t status = 0;
    int64_t r = wait_child(static_cast<int64_t>(pid), &status);
    if (r >= 0 && copy_to_user(user_status, &status, sizeof status) < 0) return sys::kFault;
    return r;
}

int64_t sys_pipe(uint64_t user_fds) {
    Process* p = current();
    if (!user_range_ok(user_fds, 2 * sizeof(int32_t))) return sys::kFault;
    int32_t fds[2] = {-1, -1};
    for (unsigned i = 0, n = 0; i < kMaxFiles && n < 2; ++i)
        if (!p->files[i]) fds[n++] = static_cast<int32_t>(i);
    if (fds[1] < 0) return sys::kTooMany;
    File *r, *w;
    if (!file_open_pipe(r, w)) return sys::kTooMany;
    if (copy_to_user(user_fds, fds, sizeof fds) < 0) {
        file_close(r);
        file_close(w);
        return sys::kFault;
    }
    p->files[fds[0]] = r;
    p->files[fds[1]] = w;
    return 0;
}

int64_t sys_close(uint64_t fd) {
    File* f = file_at(fd);
    if (!f) return sys::kBadFd;
    current()->files[fd] = nullptr;
    file_close(f);
    return 0;
}

// map: a demand-zero region; its pages arrive on first touch (the page-fault handler).
int64_t sys_map(uint64_t size) {
    Process* p = current();
    size = (size + kPageSize - 1) & ~(kPageSize - 1);
    if (size == 0 || size > layout::kUserStackTop - layout::kUserStackSize - p->next_map) return sys::kNoMemory;
    for (DemandRegion& r : p->regions) {
        if (r.start != r.end) continue;
        r = {p->next_map, p->next_map + size};
        p->next_map += size + kPageSize;  // a guard page between regions
        return static_cast<int64_t>(r.start);
    }
    return sys::kTooMany;
}

int64_t sys_unmap(uint64_t addr, uint64_t size) {
    Process* p = current();
    for (DemandRegion& r : p->regions) {
        if (r.start != addr || r.start == r.end || &r == &p->regions[0]) continue;
        if (size && (size + kPageSize - 1) / kPageSize != (r.end - r.start) / kPageSize) return sys::kInvalid;
        for (uint64_t page = r.start; page < r.end; page += kPageSize) paging::unmap(p->space, page);
        r = {};
        return 0;
    }
    return sys::kInvalid;
}

int64_t sys_clock() {
    uint64_t hz = tsc_hz();
    uint64_t cycles = cpu::rdtsc() - boot_tsc();
    return static_cast<int64_t>(cycles / hz * 1'000'000'000 + cycles % hz * 1'000'000'000 / hz);
}

}  // namespace

extern "C" int64_t syscall_dispatch(SyscallFrame* f) {
    const uint64_t* a = f->args;
    switch (f->number) {
    case sys::kWrite: return sys_write(a[0], a[1], a[2]);
    case sys::kRead: return sys_read(a[0], a[1], a[2]);
    case sys::kExit: exit_current(static_cast<int64_t>(a[0]));
    case sys::kSpawn: return sys_spawn(a[0], a[1]);
    case sys::kWait: return sys_wait(a[0], a[1]);
    case sys::kYield: yield(); return 0;
    case sys::kGetpid: return current()->pid;
    case sys::kPipe: return sys_pipe(a[0]);
    case sys::kMap: return sys_map(a[0]);
    case sys::kUnmap: return sys_unmap(a[0], a[1]);
    case sys::kClock: return sys_clock();
    case sys::kClose: return sys_close(a[0]);
    case sys::kKill: return kill(static_cast<int64_t>(a[0]));
    case sys::kKernelTest: return kernel_test(a[0], a[1]);
    case sys::kKernelBench: return kernel_bench(a[0], a[1]);
    case sys::kInfo: return info(a[0]);
    default: return sys::kNoSys;
    }
}

void syscall_init() {
    using namespace cpu;
    wrmsr(kMsrEfer, rdmsr(kMsrEfer) | kEferSce);
    wrmsr(kMsrStar, (uint64_t{gdt::kSysretBase} << 48) | (uint64_t{gdt::kKernelCode} << 32));
    wrmsr(kMsrLstar, reinterpret_cast<uint64_t>(syscall_entry));
    // Cleared on entry: IF (the entry runs on the user stack until it switches),
    // TF, DF, AC (Intel SDM Vol. 3A, 3.4.3).
    wrmsr(kMsrSfmask, (1u << 9) | (1u << 8) | (1u << 10) | (1u << 18));
    wrmsr(kMsrGsBase, reinterpret_cast<uint64_t>(&percpu));
    wrmsr(kMsrKernelGsBase, 0);
    wrmsr(kMsrFsBase, 0);
}

}  // namespace guest
