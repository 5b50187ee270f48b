#include "tenders/process/host_filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "previrt/guest_layout.h"

namespace previrt::vmm::process {
namespace {

// What the VMM calls while the guest runs: memory and signals, the timer,
// the console, the user-mode process (ptrace, its pidfd), and leaving.
constexpr int kAllowed[] = {
    SYS_read, SYS_write, SYS_readv, SYS_fcntl, SYS_writev, SYS_close, SYS_poll, SYS_ppoll, SYS_lseek, SYS_fstat,
    SYS_newfstatat, SYS_ioctl, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_brk,
    SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_sigaltstack, SYS_timer_settime,
    SYS_timer_gettime, SYS_timer_delete, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep, SYS_gettid,
    SYS_getpid, SYS_tgkill, SYS_kill, SYS_ptrace, SYS_wait4, SYS_waitid, SYS_pidfd_send_signal,
    SYS_process_vm_readv, SYS_process_vm_writev, SYS_futex, SYS_sched_yield, SYS_getrandom, SYS_exit,
    SYS_exit_group,
};

}  // namespace

bool install_host_filter(std::string& error) {
    constexpr uint32_t kIpLow = offsetof(seccomp_data, instruction_pointer);
    constexpr uint32_t kIpHigh = kIpLow + 4;
    constexpr uint32_t kErrno = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
    std::vector<sock_filter> f;
    auto stmt = [&](uint16_t code, uint32_t k) { f.push_back(BPF_STMT(code, k)); };
    auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { f.push_back(BPF_JUMP(code, k, jt, jf)); };

    stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
    jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    // Guest code: every address below the hole's end (the host's code and
    // libraries are far above 4 GiB).
    stmt(BPF_LD | BPF_W | BPF_ABS, kIpHigh);
    jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3);
    stmt(BPF_LD | BPF_W | BPF_ABS, kIpLow);
    jump(BPF_JMP | BPF_JGE | BPF_K, static_cast<uint32_t>(layout::kVmmHoleEnd), 1, 0);
    stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    // The VMM: its calls by number (x32 numbers never match).
    stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
    for (int nr : kAllowed) {
        jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1);
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
    stmt(BPF_RET | BPF_K, kErrno);

    sock_fprog program{static_cast<unsigned short>(f.size()), f.data()};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
        error = std::string("seccomp: ") + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace previrt::vmm::process
