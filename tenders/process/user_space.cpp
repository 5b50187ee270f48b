#include "tenders/process/user_space.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "previrt/guest_layout.h"
#include "tenders/process/user_events.h"
#include "tenders/process/user_stub.h"

namespace previrt::vmm::process {
namespace {

using stub::kPage;
using user_events::hex;

struct Fd {  // closes on scope exit
    int fd = -1;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) close(fd);
        fd = -1;
    }
};

// waitpid that outlasts signals to this thread (SIGALRM without SA_RESTART).
bool wait_child(pid_t pid, int& status) {
    for (;;) {
        if (waitpid(pid, &status, __WALL) == pid) return true;
        if (errno != EINTR) return false;
    }
}

}  // namespace

std::unique_ptr<UserSpace> UserSpace::start(int memory_fd, uint64_t memory_size, uint64_t user_begin, uint64_t user_end,
                                            std::string& error) {
    const bool in_hole = user_begin < layout::kVmmHoleEnd && user_end > layout::kVmmHoleBase;
    if (user_begin % kPage || user_end % kPage || user_begin == 0 || user_begin >= user_end ||
        user_end > kUserStubBase || in_hole) {
        error = "user range [" + hex(user_begin) + ", " + hex(user_end) + ") must be page aligned, non-empty, below " +
                hex(kUserStubBase) + " (the stub) and outside the VMM hole";
        return nullptr;
    }
    std::unique_ptr<UserSpace> space(new UserSpace());
    space->memory_size_ = memory_size;
    space->user_begin_ = user_begin;
    space->user_end_ = user_end;
    space->host_regs_ = std::make_unique<user_regs_struct>();
    if (!space->launch(memory_fd, error)) return nullptr;
    return space;
}

bool UserSpace::launch(int memory_fd, std::string& error) {
    auto fail = [&](const std::string& what, int err) {
        error = what + ": " + std::strerror(err);
        kill_child();
        return false;
    };
    struct stat memory {};
    if (fstat(memory_fd, &memory) != 0) return fail("memory fd " + std::to_string(memory_fd), errno);
    if (static_cast<uint64_t>(memory.st_size) < memory_size_)
        return fail("memory fd " + std::to_string(memory_fd) + " is smaller than memory_size", EINVAL);
    const char* what = nullptr;
    Fd image{stub::create_image(what)};
    if (image.fd < 0) return fail(what, errno);
    void* area = mmap(nullptr, stub::kRequestBytes, PROT_READ | PROT_WRITE, MAP_SHARED, image.fd, kPage);
    if (area == MAP_FAILED) return fail("mmap of the request area", errno);
    requests_ = static_cast<stub::Request*>(area);

    int go[2], report[2];
    if (pipe2(go, O_CLOEXEC) != 0) return fail("pipe2", errno);
    Fd go_read{go[0]}, go_write{go[1]};
    if (pipe2(report, O_CLOEXEC) != 0) return fail("pipe2", errno);
    Fd report_read{report[0]}, report_write{report[1]};
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) return fail("fork", errno);
    if (pid_ == 0) stub::exec_child(go[0], report[1], memory_fd, image.fd, parent);
    go_read.reset();
    report_write.reset();

    if (ptrace(PTRACE_SEIZE, pid_, nullptr, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) != 0) {
        const int err = errno;
        go_write.reset();  // the child reads end of file and exits
        return fail("PTRACE_SEIZE (is ptrace allowed here?)", err);
    }
    const char go_ahead = 1;
    if (write(go_write.fd, &go_ahead, 1) != 1) return fail("write to the child", errno);
    go_write.reset();
    stub::ChildFailure failure{};
    ssize_t got;
    do got = read(report_read.fd, &failure, sizeof failure);
    while (got < 0 && errno == EINTR);
    if (got == sizeof failure && stub::child_step(failure.step))
        return fail(std::string("child: ") + stub::child_step(failure.step), failure.error);
    // Since 5.3; without it interrupt() falls back to kill().
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));

    int status = 0;
    if (!wait_child(pid_, status)) return fail("waitpid", errno);
    if (!WIFSTOPPED(status) || status >> 8 != (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
        if (!WIFSTOPPED(status)) reap(status);
        error = "the child did not reach its exec stop (" + (reaped_ ? death_ : "status " + hex(status)) + ")";
        kill_child();
        return false;
    }
    if (!fetch_registers()) return fail("PTRACE_GETREGS", errno);
    user_regs_struct regs = *host_regs_;
    stub::prepare_setup(regs, requests_);
    if (!set_registers(regs)) return fail("PTRACE_SETREGS", errno);
    const int result = run_stub();
    if (result < 0) {
        error = "the child died in set-up: " + death_;
        return false;
    }
    if (result == 0) {
        const uint64_t at = stub::code_offset(host_regs_->rip);
        return fail("stub set-up (ud2 at stub offset " + hex(at) + ")", static_cast<int>(-host_regs_->rax));
    }
    if (!fetch_registers()) return fail("PTRACE_GETREGS", errno);
    stub_setup_ = stub::setup_result(*host_regs_);
    return true;
}

UserSpace::~UserSpace() {
    kill_child();
    if (pidfd_ >= 0) close(pidfd_);
    if (requests_) munmap(requests_, stub::kRequestBytes);
}

UserSpace::UserSpace() = default;

void UserSpace::map(uint64_t va, uint64_t pa, bool writable, bool executable) {
    if (va % kPage || pa % kPage || va < user_begin_ || va >= user_end_ || pa >= memory_size_ ||
        memory_size_ - pa < kPage)
        throw std::invalid_argument("UserSpace::map(" + hex(va) + ", " + hex(pa) +
                                    "): unaligned, outside the user range or beyond guest memory");
    const uint32_t prot = PROT_READ | (writable ? PROT_WRITE : 0) | (executable ? PROT_EXEC : 0);
    if (!queue_.empty()) {  // the next page of a run of pages: one mmap for the run
        stub::Request& last = queue_.back();
        if (last.op == stub::kMap && last.prot == prot && last.va + last.length == va && last.pa + last.length == pa) {
            last.length += kPage;
            return;
        }
    }
    queue_.push_back({va, kPage, pa, prot, stub::kMap});
}

void UserSpace::unmap(uint64_t va) {
    if (va % kPage || va < user_begin_ || va >= user_end_)
        throw std::invalid_argument("UserSpace::unmap(" + hex(va) + "): unaligned or outside the user range");
    if (!queue_.empty()) {
        stub::Request& last = queue_.back();
        if (last.op == stub::kUnmap && last.va + last.length == va) {
            last.length += kPage;
            return;
        }
    }
    queue_.push_back({va, kPage, 0, 0, stub::kUnmap});
}

void UserSpace::unmap_all() {
    queue_.clear();  // whatever was queued would be undone
    queue_.push_back({user_begin_, user_end_ - user_begin_, 0, 0, stub::kUnmap});
}

void UserSpace::interrupt() {
    // The flag first: the stop the signal causes must find it set.
    interrupt_pending_.store(true);
    const int saved = errno;
    if (pidfd_ >= 0)
        syscall(SYS_pidfd_send_signal, pidfd_, stub::kInterruptSignal, nullptr, 0);
    else if (pid_ > 0)
        kill(pid_, stub::kInterruptSignal);
    errno = saved;
}

UserEvent UserSpace::run(UserRegisters& regs) {
    ++stats_.runs;
    if (reaped_) return died();
    if (!queue_.empty() && !flush()) return died();
    // A pending interrupt ends this run before user code; the signal that
    // interrupt() sent is still on its way and is discarded when it arrives.
    if (interrupt_pending_.exchange(false)) return {UserStop::Interrupted};
    user_regs_struct loaded = *host_regs_;  // keeps the child's segment selectors
    user_events::load(loaded, regs);
    if (!set_registers(loaded)) {
        const int err = errno;
        if (err == ESRCH) return lost("PTRACE_SETREGS");
        UserEvent refused{UserStop::Exception, 13};  // as a wrmsr of a non-canonical base would be
        refused.detail = std::string("the host refused the registers (") + std::strerror(err) +
                         "), e.g. a non-canonical fs_base or gs_base";
        return refused;
    }
    for (;;) {
        if (ptrace(PTRACE_SYSEMU, pid_, nullptr, nullptr) != 0) return lost("PTRACE_SYSEMU");
        int status;
        if (!wait_child(pid_, status)) return lost("waitpid");
        if (!WIFSTOPPED(status)) {
            reap(status);
            return died();
        }
        const int sig = WSTOPSIG(status);
        UserEvent event;
        if (sig == (SIGTRAP | 0x80)) {
            event.kind = UserStop::SystemCall;
        } else {
            if (status >> 16 != 0) continue;  // an event stop (group stop): nothing to report
            siginfo_t info;
            if (ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &info) != 0) return lost("PTRACE_GETSIGINFO");
            if (!user_events::fault_event(pid_, sig, info, event)) {
                // Sent, not raised: an interrupt if one is pending, else a
                // stale interrupt signal or a stray one. Either way suppressed.
                if (!interrupt_pending_.exchange(false)) continue;
                event.kind = UserStop::Interrupted;
            }
        }
        if (!fetch_registers()) return lost("PTRACE_GETREGS");
        user_events::store(regs, *host_regs_);
        if (event.kind == UserStop::SystemCall) {
            regs.rax = host_regs_->orig_rax;  // the host put -ENOSYS in rax
            event.insn = user_events::system_call_insn(pid_, host_regs_->rip);
        }
        return event;
    }
}

// Applies the queued requests, a request area at a time.
bool UserSpace::flush() {
    for (size_t done = 0; done < queue_.size();) {
        const size_t count = std::min(queue_.size() - done, stub::kRequestCapacity);
        std::memcpy(static_cast<void*>(requests_), queue_.data() + done, count * sizeof(stub::Request));
        user_regs_struct regs = *host_regs_;
        stub::prepare_batch(regs, count, stub_setup_);
        if (!set_registers(regs)) {
            lost("PTRACE_SETREGS");
            return false;
        }
        const int result = run_stub();
        registers_current_ = false;  // the stub changed them
        if (result < 0) return false;
        if (result == 0) {
            const size_t index = stub::failed_request(*host_regs_, count);
            std::string why = "mprotect of the request area";
            if (index < count) {
                const stub::Request& request = queue_[done + index];
                why = std::string(request.op == stub::kMap ? "mmap" : "munmap") + "(va " + hex(request.va) + ", " +
                      hex(request.length) + " bytes, pa " + hex(request.pa) + ")";
            }
            kill_child();
            death_ = why + " in the child: " + std::strerror(static_cast<int>(-host_regs_->rax));
            return false;
        }
        ++stats_.batches;
        stats_.host_calls += count;
        done += count;
    }
    queue_.clear();
    return true;
}

// Resumes the child in the stub (registers already set) until its int3.
// 1: done; 0: ud2 (host_regs_ hold rax = -errno, rbx); -1: the child is gone
// (killed here if the stub faulted: death_ says where).
int UserSpace::run_stub() {
    for (;;) {
        int status;
        siginfo_t info;
        if (ptrace(PTRACE_CONT, pid_, nullptr, nullptr) != 0 || !wait_child(pid_, status)) break;
        if (!WIFSTOPPED(status)) {
            reap(status);
            return -1;
        }
        if (status >> 16 != 0) continue;
        if (ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &info) != 0) break;
        if (info.si_code <= 0) continue;  // sent: a pending interrupt stays in interrupt_pending_
        if (WSTOPSIG(status) == SIGTRAP && info.si_code == SI_KERNEL) return 1;
        if (!fetch_registers()) break;
        if (WSTOPSIG(status) == SIGILL) return 0;
        const std::string fault = std::string("the stub faulted: ") + strsignal(WSTOPSIG(status)) + " code " +
                                  std::to_string(info.si_code) + " at stub offset " +
                                  hex(stub::code_offset(host_regs_->rip));
        kill_child();
        death_ = fault;
        return -1;
    }
    lost("ptrace in the stub");
    return -1;
}

// Writes only what changed since the child's last stop when that is little
// (a system call's result; nothing when a fault's rerun): one PTRACE_POKEUSER
// costs a quarter of a PTRACE_SETREGS here.
bool UserSpace::set_registers(const user_regs_struct& regs) {
    constexpr size_t kWords = sizeof(user_regs_struct) / sizeof(uint64_t), kMaxPokes = 3;
    uint64_t want[kWords], have[kWords];
    std::memcpy(want, &regs, sizeof want);
    std::memcpy(have, host_regs_.get(), sizeof have);
    size_t changed = 0;
    for (size_t i = 0; i < kWords; ++i) changed += want[i] != have[i];
    bool ok = true;
    if (registers_current_ && changed <= kMaxPokes) {
        for (size_t i = 0; i < kWords && ok; ++i)
            if (want[i] != have[i]) ok = ptrace(PTRACE_POKEUSER, pid_, i * sizeof(uint64_t), want[i]) == 0;
    } else {
        ok = ptrace(PTRACE_SETREGS, pid_, nullptr, &regs) == 0;
    }
    // On success the child holds what we wrote (up to bits the host masks, the
    // same on every write).
    registers_current_ = ok;
    if (ok) *host_regs_ = regs;
    return ok;
}

bool UserSpace::fetch_registers() {
    registers_current_ = ptrace(PTRACE_GETREGS, pid_, nullptr, host_regs_.get()) == 0;
    return registers_current_;
}

UserEvent UserSpace::died() const {
    UserEvent event{UserStop::Died};
    event.detail = death_;
    return event;
}

// A ptrace request or wait failed: with ESRCH the child was killed out of its
// stop (only SIGKILL does that); otherwise it is unusable. Either way it ends.
UserEvent UserSpace::lost(const char* what) {
    const int err = errno;
    kill_child();
    if (err != ESRCH) death_ = std::string(what) + ": " + std::strerror(err) + "; the child was killed";
    return died();
}

void UserSpace::kill_child() {
    if (pid_ <= 0 || reaped_) return;
    if (pidfd_ < 0 || syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0) != 0) kill(pid_, SIGKILL);
    int status;
    while (wait_child(pid_, status))
        if (WIFEXITED(status) || WIFSIGNALED(status)) return reap(status);
    reaped_ = true;  // ECHILD: someone else reaped it
    death_ = "lost (waitpid: " + std::string(std::strerror(errno)) + ")";
}

void UserSpace::reap(int status) {
    reaped_ = true;
    if (WIFEXITED(status))
        death_ = "exited with status " + std::to_string(WEXITSTATUS(status));
    else
        death_ = "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
}

}  // namespace previrt::vmm::process
