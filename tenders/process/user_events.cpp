#include "tenders/process/user_events.h"

#include <linux/audit.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace previrt::vmm::process::user_events {
namespace {

// Reads up to `size` bytes of the child by aligned words (an aligned word
// never straddles a page); returns how many it could. A foreign access, so
// protection keys do not apply: the stub's execute-only code reads too.
size_t read_child(pid_t pid, uint64_t address, uint8_t* out, size_t size) {
    size_t done = 0;
    while (done < size) {
        const uint64_t at = address + done, word = at & ~uint64_t{7};
        errno = 0;
        const long value = ptrace(PTRACE_PEEKTEXT, pid, word, nullptr);
        if (errno != 0) break;
        uint8_t bytes[8];
        std::memcpy(bytes, &value, sizeof bytes);
        for (size_t i = at - word; i < 8 && done < size; ++i) out[done++] = bytes[i];
    }
    return done;
}

uint16_t read_insn(pid_t pid, uint64_t rip) {
    uint8_t bytes[2];
    return read_child(pid, rip - 2, bytes, 2) == 2 ? static_cast<uint16_t>(bytes[0] | bytes[1] << 8) : 0;
}

// #MF is raised at a waiting x87 instruction (opcode D8-DF, or FWAIT 9B), #XM
// at an SSE/AVX one (SDM vol. 1, 8.6 and 11.5.1): the opcode after the
// prefixes tells which. Both leave SIGFPE.
bool x87_instruction(pid_t pid, uint64_t rip) {
    uint8_t bytes[15];
    const size_t size = read_child(pid, rip, bytes, sizeof bytes);
    for (size_t i = 0; i < size; ++i) {
        const uint8_t op = bytes[i];
        const bool prefix = op == 0x66 || op == 0x67 || op == 0xf0 || op == 0xf2 || op == 0xf3 || op == 0x2e ||
                            op == 0x36 || op == 0x3e || op == 0x26 || op == 0x64 || op == 0x65 || (op & 0xf0) == 0x40;
        if (!prefix) return op == 0x9b || (op >= 0xd8 && op <= 0xdf);
    }
    return false;
}

}  // namespace

std::string hex(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
    return text;
}

// The instruction behind a system call stop. Only `syscall` in 64-bit mode
// enters the host's 64-bit table, so the host's record of the table spares
// reading the child (which costs three times as much).
uint16_t system_call_insn(pid_t pid, uint64_t rip) {
    __ptrace_syscall_info info{};
    if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info) > 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY &&
        info.arch == AUDIT_ARCH_X86_64)
        return 0x050f;
    return read_insn(pid, rip);
}

bool fault_event(pid_t pid, int sig, const siginfo_t& info, UserEvent& event) {
    if (info.si_code <= 0) return false;
    event.kind = UserStop::Exception;
    switch (sig) {
        case SIGSEGV:
            // SEGV_PKUERR: a data access to the stub's execute-only code page.
            if (info.si_code == SEGV_MAPERR || info.si_code == SEGV_ACCERR || info.si_code == SEGV_PKUERR) {
                event.kind = UserStop::PageFault;
                event.address = reinterpret_cast<uint64_t>(info.si_addr);
                event.present = info.si_code != SEGV_MAPERR;
                return true;
            }
            event.vector = 13;  // SI_KERNEL: #GP from a privileged instruction, int $n, a non-canonical address
            event.detail = "SIGSEGV code " + std::to_string(info.si_code);
            return true;
        case SIGILL:
            event.vector = 6;
            return true;
        case SIGTRAP:  // int3 raises SI_KERNEL; #DB (TF, icebp, debug registers) TRAP_*
            event.vector = info.si_code == SI_KERNEL ? 3 : 1;
            return true;
        case SIGFPE: {  // #DE is FPE_INTDIV; the x87 and SSE codes come from either #MF or #XM
            const bool division = info.si_code == FPE_INTDIV;
            event.vector = division ? 0 : x87_instruction(pid, reinterpret_cast<uint64_t>(info.si_addr)) ? 16 : 19;
            return true;
        }
        case SIGBUS:  // BUS_ADRALN is #AC; BUS_ADRERR a frame beyond the memfd's end
            event.vector = 17;
            event.address = reinterpret_cast<uint64_t>(info.si_addr);
            event.detail = "SIGBUS code " + std::to_string(info.si_code) + " at " + hex(event.address);
            return true;
        case SIGSYS:
            event.vector = 13;
            event.detail = "host system call " + std::to_string(info.si_syscall) + " refused by the seccomp filter";
            return true;
        default:
            return false;
    }
}

void load(user_regs_struct& to, const UserRegisters& from) {
    to.rax = from.rax, to.rbx = from.rbx, to.rcx = from.rcx, to.rdx = from.rdx;
    to.rsi = from.rsi, to.rdi = from.rdi, to.rbp = from.rbp, to.rsp = from.rsp;
    to.r8 = from.r8, to.r9 = from.r9, to.r10 = from.r10, to.r11 = from.r11;
    to.r12 = from.r12, to.r13 = from.r13, to.r14 = from.r14, to.r15 = from.r15;
    to.rip = from.rip, to.eflags = from.rflags, to.fs_base = from.fs_base, to.gs_base = from.gs_base;
    // After a system call stop orig_rax still holds its number. If rax then
    // reads -ERESTARTSYS..-ERESTART_RESTARTBLOCK (-512..-516) and a signal is
    // pending (a stale interrupt), the kernel would "restart" the call: rax =
    // orig_rax, rip -= 2. Clearing orig_rax prevents that; it costs a register
    // write, so only when rax is in that range.
    const int64_t result = static_cast<int64_t>(from.rax);
    if (result >= -516 && result <= -512) to.orig_rax = ~0ULL;
}

void store(UserRegisters& to, const user_regs_struct& from) {
    to.rax = from.rax, to.rbx = from.rbx, to.rcx = from.rcx, to.rdx = from.rdx;
    to.rsi = from.rsi, to.rdi = from.rdi, to.rbp = from.rbp, to.rsp = from.rsp;
    to.r8 = from.r8, to.r9 = from.r9, to.r10 = from.r10, to.r11 = from.r11;
    to.r12 = from.r12, to.r13 = from.r13, to.r14 = from.r14, to.r15 = from.r15;
    to.rip = from.rip, to.rflags = from.eflags, to.fs_base = from.fs_base, to.gs_base = from.gs_base;
}

}  // namespace previrt::vmm::process::user_events
