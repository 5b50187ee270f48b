// The host signals: a guest trap (SIGSEGV, SIGILL, ...), a host event
// (SIGALRM for the timer, SIGIO for console input), each sent on to an entry
// of the VMM.
#include "vmm/process/machine.h"

#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace previrt::vmm::process {

// ---- signals -------------------------------------------------------------------

void capture(const ucontext_t* uc) {
    const greg_t* g = uc->uc_mcontext.gregs;
    uint64_t* r = vcpu.gpr;
    r[kRax] = g[REG_RAX], r[kRcx] = g[REG_RCX], r[kRdx] = g[REG_RDX], r[kRbx] = g[REG_RBX];
    r[kRsp] = g[REG_RSP], r[kRbp] = g[REG_RBP], r[kRsi] = g[REG_RSI], r[kRdi] = g[REG_RDI];
    r[kR8] = g[REG_R8], r[kR9] = g[REG_R9], r[kR10] = g[REG_R10], r[kR11] = g[REG_R11];
    r[kR12] = g[REG_R12], r[kR13] = g[REG_R13], r[kR14] = g[REG_R14], r[kR15] = g[REG_R15];
    vcpu.rip = uint64_t(g[REG_RIP]);
    uint64_t vif = vcpu.rflags & kFlagIf;
    vcpu.rflags = (uint64_t(g[REG_EFL]) & kFlagsUser) | kFlagReserved1 | vif | (vcpu.rflags & kFlagIopl);
}

void redirect(ucontext_t* uc) { uc->uc_mcontext.gregs[REG_RIP] = greg_t(&previrt_event_entry); }

void write_message(const char* s) { [[maybe_unused]] ssize_t n = write(2, s, strlen(s)); }

namespace {

// The host's code: every executable mapping of the process above the guest's
// window (the hole, the thunk page, previrt and its libraries, the vDSO), read
// once before the guest first runs. A trap at an instruction there is the
// VMM's own fault; a trap anywhere else outside the guest's window is where
// the guest jumped (an address nothing backs), and the guest's to take.
struct CodeRange {
    uint64_t begin, end;
};
constexpr size_t kMaxHostCode = 256;
CodeRange host_code[kMaxHostCode];
size_t host_code_count = 0;
bool host_code_unknown = true;  // not read (or too many): all of it counts as the host's

void note_host_code() {
    host_code_count = 0;
    host_code_unknown = true;
    FILE* maps = fopen("/proc/self/maps", "re");
    if (!maps) return;
    char line[512];
    bool complete = true;
    while (fgets(line, sizeof line, maps)) {
        unsigned long begin = 0, end = 0;
        char perms[5] = {};
        if (sscanf(line, "%lx-%lx %4s", &begin, &end, perms) != 3 || perms[2] != 'x') continue;
        if (end <= layout::kVmmHoleBase) continue;  // the guest's own
        if (host_code_count == kMaxHostCode) {
            complete = false;
            break;
        }
        host_code[host_code_count++] = {begin, end};
    }
    fclose(maps);
    host_code_unknown = !complete;
}

bool in_host_code(uint64_t rip) {
    if (in_guest(rip)) return false;
    if (host_code_unknown) return true;
    for (size_t i = 0; i < host_code_count; ++i)
        if (rip >= host_code[i].begin && rip < host_code[i].end) return true;
    return false;
}

}  // namespace

[[noreturn]] void vmm_fault(int sig, uint64_t rip, uint64_t address) {
    char buf[160];
    snprintf(buf, sizeof buf, "previrt-process: the in-place VMM itself faulted (signal %d at %#lx, address %#lx)\n",
             sig, static_cast<unsigned long>(rip), static_cast<unsigned long>(address));
    write_message(buf);
    _exit(tenders::kExitPlatform);
}

// The handlers run with whatever FS base the guest left (see entry.S), so
// they put the host's back first, and have no stack protector, whose canary
// is read through FS before the first statement.
[[gnu::no_stack_protector]] void restore_host_fs_base() {
    asm volatile("wrfsbase %0" : : "r"(previrt_host_fs_base) : "memory");
}

[[gnu::no_stack_protector]] void on_async_signal(int, siginfo_t*, void* context) {
    restore_host_fs_base();
    auto* uc = static_cast<ucontext_t*>(context);
    set_pending(true);
    if (machine->user_running) {
        machine->user->interrupt();
        return;
    }
    uint64_t rip = uint64_t(uc->uc_mcontext.gregs[REG_RIP]);
    bool timed_out = now_ns() >= machine->deadline;
    if (in_guest(rip)) {
        if (hot_page().interrupt_flag || timed_out) {
            capture(uc);
            redirect(uc);
        }
    } else if (in_resume(rip)) {
        redirect(uc);
    } else if (in_fast_path(rip)) {
        arm_timer(now_ns() + kRetryNs);
    }
}

[[gnu::no_stack_protector]] void on_trap_signal(int sig, siginfo_t* info, void* context) {
    restore_host_fs_base();
    auto* uc = static_cast<ucontext_t*>(context);
    uint64_t rip = uint64_t(uc->uc_mcontext.gregs[REG_RIP]);
    if (in_host_code(rip)) vmm_fault(sig, rip, reinterpret_cast<uint64_t>(info->si_addr));
    capture(uc);
    machine->trap_signal = sig;
    machine->trap_code = info->si_code;
    machine->trap_address = reinterpret_cast<uint64_t>(info->si_addr);
    if (sig == SIGSYS) machine->trap_syscall = uint64_t(info->si_syscall);
    machine->reason = int(Reason::Trap);
    redirect(uc);
}

SavedSignals::~SavedSignals() {
    for (int s : signals) sigaction(s, &old[s], nullptr);
}

void install_signals(SavedSignals& saved, void* altstack, size_t altstack_size) {
    note_host_code();
    stack_t ss{};
    ss.ss_sp = altstack;
    ss.ss_size = altstack_size;
    sigaltstack(&ss, nullptr);
    struct sigaction sa{};
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGALRM, SIGIO, SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS, SIGSYS}) sigaddset(&sa.sa_mask, s);
    sa.sa_sigaction = on_async_signal;
    for (int s : {SIGALRM, SIGIO}) {
        saved.signals.push_back(s);
        sigaction(s, &sa, &saved.old[s]);
    }
    sa.sa_sigaction = on_trap_signal;
    for (int s : {SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS, SIGSYS}) {
        saved.signals.push_back(s);
        sigaction(s, &sa, &saved.old[s]);
    }
}

}  // namespace previrt::vmm::process
