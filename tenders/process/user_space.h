// Guest user mode in a separate host process, the User-Mode-Linux model: the
// guest kernel and the in-place VMM stay in the calling process; guest user
// code runs in a child that holds nothing but the user pages the caller maps
// and a small stub (user_stub.h) far above the guest's layout, so it can read
// neither the kernel nor the VMM: in the child, [0, kVmmHoleEnd) holds user
// pages only, and the hole and kernel window fault as on bare hardware.
//
// The child: fork, PTRACE_SEIZE, execveat of a one-page ELF built in a memfd.
// Not a fork that unmaps the parent's memory: exec starts from a fresh address
// space with default signal dispositions. The stub's entry maps its request
// area, closes the image's fd, unmaps what exec added (stack, vdso, vvar),
// installs a seccomp filter and stops on int3. Left: the stub's code page and
// request area at kUserStubBase, fd 3 (the guest memory) and [vsyscall], which
// no process can unmap.
//
// What user code can reach of the stub:
// - Its code page is mapped PROT_EXEC only. On a host with protection keys
//   (pku and ospke in /proc/cpuinfo) Linux backs that with a key whose data
//   access PKRU denies: a read faults (SEGV_PKUERR, a present PageFault).
//   Without protection keys the page stays readable, and user code can clear
//   PKRU with wrpkru and read it anyway: the code is no secret (it is in
//   this binary), and user code cannot write it either way. PKRU is user
//   state: each batch sets the stub's again (user code that denied every key
//   must not break the stub), so a wrpkru lasts until the next batch.
// - The request area (what the parent asks the stub to map) is PROT_NONE
//   whenever user code runs: each batch makes it readable, applies its
//   requests and makes it PROT_NONE again before stopping. Page tables,
//   not PKRU, keep it from user code.
//
// User code runs under PTRACE_SYSEMU: `syscall` and `int $0x80` stop before
// the host executes them wherever they are, the stub's own `syscall` included.
// Mapping changes run the stub's loop under PTRACE_CONT, with rip set by us: it
// reads mmap/munmap requests from the request area and ends on int3, one stop
// per batch however long. The seccomp filter allows only mmap, mprotect and
// munmap, and only from the stub's code page; it catches the kernel's
// vsyscall emulation, which bypasses ptrace (reported as #GP). Faults arrive
// as signals, become UserEvents and are never delivered.
//
// The child's FPU/SSE state (PKRU included) is its own: it persists from run
// to run and is not in UserRegisters, so guest threads run in one UserSpace
// share it (saving it would take PTRACE_GETFPREGS/SETFPREGS, which this API
// does not expose yet).
//
// Threads: start(), map(), unmap(), run() and the destructor belong to the
// thread that called start(): ptrace makes it the tracer, and the child dies
// with it (PR_SET_PDEATHSIG, PTRACE_O_EXITKILL). interrupt() may be called
// from any thread or signal handler, but not concurrently with the destructor.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct user_regs_struct;

namespace previrt::vmm::process {

// Where the stub lives in the child: its code page, then a 4-page request
// area. Not in the VMM hole, nor anywhere in the guest's layout (user range,
// kernel window, hole: all below kVmmHoleEnd), so user code that probes them
// faults as on bare hardware. High in the lower half, but below where exec
// may put the stack: its top is randomized over 16 GiB below 0x7fff'ffff'f000
// (STACK_RND_MASK), i.e. down to 0x7ffc'0000'0000, and the ELF loader maps
// the stub with MAP_FIXED_NOREPLACE after the stack, so an overlap would fail
// exec. The vdso and vvar come after the stub, wherever mmap finds room below
// its randomized base: never on it. User ranges must end below kUserStubBase.
inline constexpr uint64_t kUserStubBase = 0x0000'7ff0'0000'0000;
inline constexpr uint64_t kUserStubEnd = kUserStubBase + 5 * 4096;

namespace stub {
struct Request;
}

struct UserRegisters {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags, fs_base,
        gs_base;
};

enum class UserStop { SystemCall, PageFault, Exception, Interrupted, Died };

struct UserEvent {
    UserStop kind = UserStop::Died;
    uint8_t vector = 0;    // Exception: x86 vector (#DE 0, #DB 1, #BP 3, #UD 6, #GP 13, #MF 16, #AC 17, #XM 19)
    uint64_t address = 0;  // PageFault: the faulting address
    bool present = false;  // PageFault: the page was mapped (access violation, not a missing page)
    uint16_t insn = 0;     // SystemCall: the two bytes before rip (0x050f syscall, 0x80cd int $0x80, 0x340f sysenter)
    std::string detail;    // Died (and diagnostics): what happened, e.g. "killed by signal 9"
};

// Registers at each stop are the hardware's: after `syscall`, rcx holds the
// return rip and r11 the rflags (the instruction wrote them; the old values
// are gone, as on bare metal); rax is the number user code asked for. After
// `int $0x80` the host keeps only eax of rax (zero-extended). A PageFault
// carries no read/write bit (ptrace does not expose the error code): a
// present fault on a readable page is a write, or a fetch if the address lies
// in the instruction at rip.
class UserSpace {
public:
    // memory_fd: a memfd of guest-physical memory (memory_size bytes);
    // [user_begin, user_end): the user range, page aligned, outside the VMM
    // hole and below kUserStubBase. On failure returns nullptr and sets `error`.
    static std::unique_ptr<UserSpace> start(int memory_fd, uint64_t memory_size, uint64_t user_begin, uint64_t user_end,
                                            std::string& error);
    ~UserSpace();  // kills and reaps the child
    UserSpace(const UserSpace&) = delete;
    UserSpace& operator=(const UserSpace&) = delete;

    // 4 KiB pages, queued and applied in one batch before the next run().
    // Neighbouring pages with neighbouring frames and equal rights merge into
    // one host mapping; each unmerged one counts against the host's
    // vm.max_map_count, and a host call that fails kills the child (the next
    // run() returns Died naming the call). Throws std::invalid_argument for a
    // va outside the user range, a pa beyond memory_size, or an unaligned address.
    void map(uint64_t va, uint64_t pa, bool writable, bool executable);
    void unmap(uint64_t va);
    void unmap_all();

    // Loads regs, runs user code until it stops, stores regs back (unchanged
    // if the run returns before user code ran: Interrupted at once, Died).
    UserEvent run(UserRegisters& regs);

    // Async-signal-safe: the run() in progress, or else the next one, returns
    // Interrupted. Never lost; never reported twice. A flag and a SIGUSR1 to
    // the child (through a pidfd), which run() discards.
    void interrupt();

    pid_t pid() const { return pid_; }

    struct Stats {
        uint64_t runs;        // run() calls
        uint64_t batches;     // stub runs that applied mapping requests
        uint64_t host_calls;  // mmap/munmap calls the child made for them
    };
    Stats stats() const { return stats_; }

private:
    UserSpace();
    bool launch(int memory_fd, std::string& error);
    bool flush();
    int run_stub();
    bool set_registers(const user_regs_struct& regs);
    bool fetch_registers();
    UserEvent died() const;
    UserEvent lost(const char* what);
    void kill_child();
    void reap(int status);

    pid_t pid_ = -1;
    int pidfd_ = -1;  // interrupt() signals through it: safe after the pid is reaped and reused
    bool reaped_ = false;
    std::string death_;
    uint64_t memory_size_ = 0, user_begin_ = 0, user_end_ = 0;
    stub::Request* requests_ = nullptr;  // the request area, shared with the child
    uint64_t stub_setup_ = 0;            // what the stub's set-up left for its batches
    std::vector<stub::Request> queue_;
    std::unique_ptr<user_regs_struct> host_regs_;  // the child's registers at its last stop or write
    bool registers_current_ = false;               // host_regs_ match the child's
    std::atomic<bool> interrupt_pending_{false};
    Stats stats_{};
};

}  // namespace previrt::vmm::process
