// UserSpace against the real host: each test writes a small x86-64 program
// into a memfd of "guest memory", maps it at the user image base and runs it
// in the child.
#include "tenders/process/user_space.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "previrt/guest_layout.h"
#include "tenders/process/user_stub.h"

namespace previrt::vmm::process {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kMemorySize = 16 << 20;
constexpr uint64_t kCode = layout::kUserImageBase, kCodeFrame = 0x10000;
constexpr uint64_t kData = layout::kUserHeapBase, kDataFrame = 0x20000;
constexpr uint64_t kStack = layout::kUserStackTop - kPage, kStackFrame = 0x30000;
constexpr uint64_t kMagic = 0x0123'4567'89ab'cdef;

struct Mapping {
    uint64_t begin, end;
    std::string perms, name;
};

std::vector<Mapping> maps_of(pid_t pid) {
    std::vector<Mapping> maps;
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string range, offset, device, inode;
        Mapping m;
        fields >> range >> m.perms >> offset >> device >> inode;
        std::getline(fields >> std::ws, m.name);
        m.begin = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
        m.end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
        maps.push_back(m);
    }
    return maps;
}

bool mapped(pid_t pid, uint64_t va) {
    for (const Mapping& m : maps_of(pid))
        if (va >= m.begin && va < m.end) return true;
    return false;
}

// Whether this host gives PROT_EXEC-only mappings a protection key (pku and
// ospke): then the stub's code page is unreadable to user code.
bool host_has_protection_keys() {
    const long key = syscall(SYS_pkey_alloc, 0, 0);
    if (key < 0) return false;
    syscall(SYS_pkey_free, key);
    return true;
}

// A process that is gone or a zombie no longer runs anything.
bool gone(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("State:", 0) == 0)
            return line.find('Z') != std::string::npos || line.find('X') != std::string::npos;
    return true;
}

class UserSpaceTest : public ::testing::Test {
protected:
    void SetUp() override {
        fd_ = memfd_create("guest-memory", MFD_CLOEXEC);
        ASSERT_GE(fd_, 0);
        ASSERT_EQ(ftruncate(fd_, kMemorySize), 0);
        memory_ = static_cast<uint8_t*>(mmap(nullptr, kMemorySize, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0));
        ASSERT_NE(memory_, MAP_FAILED);
        std::string error;
        space_ = UserSpace::start(fd_, kMemorySize, layout::kUserBase, layout::kUserEnd, error);
        ASSERT_TRUE(space_) << error;
    }
    void TearDown() override {
        space_.reset();
        munmap(memory_, kMemorySize);
        close(fd_);
    }
    // Writes code at kCodeFrame and maps it at kCode, read and execute.
    void load(const Bytes& code) {
        std::memcpy(memory_ + kCodeFrame, code.data(), code.size());
        space_->map(kCode, kCodeFrame, false, true);
    }
    void store64(uint64_t pa, uint64_t value) { std::memcpy(memory_ + pa, &value, 8); }
    uint64_t load64(uint64_t pa) const {
        uint64_t value;
        std::memcpy(&value, memory_ + pa, 8);
        return value;
    }
    static UserRegisters at(uint64_t rip) {
        UserRegisters regs{};
        regs.rip = rip;
        regs.rflags = 0x202;
        regs.rsp = layout::kUserStackTop;
        return regs;
    }

    int fd_ = -1;
    uint8_t* memory_ = nullptr;
    std::unique_ptr<UserSpace> space_;
};

TEST_F(UserSpaceTest, SystemCallStopsWithRegisters) {
    load({
        0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  //  0: mov $0x1122334455667788, %rax
        0x0f, 0x05,                                                  // 10: syscall
        0x48, 0x89, 0xc3,                                            // 12: mov %rax, %rbx
        0xb8, 0x27, 0x00, 0x00, 0x00,                                // 15: mov $39, %eax
        0x0f, 0x05,                                                  // 20: syscall
        0xeb, 0xfe,                                                  // 22: jmp .
    });
    UserRegisters regs = at(kCode);
    regs.rdx = 3, regs.rsi = 4, regs.rdi = 5, regs.rbp = 6, regs.r8 = 8, regs.r9 = 9, regs.r10 = 10;
    regs.r12 = 12, regs.r13 = 13, regs.r14 = 14, regs.r15 = 15;
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(event.insn, 0x050f);
    EXPECT_EQ(regs.rip, kCode + 12);
    EXPECT_EQ(regs.rax, 0x1122334455667788u);
    // `syscall` itself wrote rcx (the return rip) and r11 (rflags).
    EXPECT_EQ(regs.rcx, regs.rip);
    EXPECT_EQ(regs.r11, regs.rflags);
    EXPECT_EQ(regs.rdx + regs.rsi + regs.rdi + regs.rbp, 3u + 4 + 5 + 6);
    EXPECT_EQ(regs.r8 + regs.r9 + regs.r10, 8u + 9 + 10);
    EXPECT_EQ(regs.r12 + regs.r13 + regs.r14 + regs.r15, 12u + 13 + 14 + 15);
    EXPECT_EQ(regs.rsp, layout::kUserStackTop);

    regs.rax = 0xabc;  // the emulated call's result
    event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(regs.rip, kCode + 22);
    EXPECT_EQ(regs.rax, 39u);
    EXPECT_EQ(regs.rbx, 0xabcu);
}

TEST_F(UserSpaceTest, FsAndGsBaseApplyToUserCode) {
    load({
        0x64, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00,  //  0: mov %fs:0, %rax
        0x65, 0x48, 0x8b, 0x1c, 0x25, 0x08, 0x00, 0x00, 0x00,  //  9: mov %gs:8, %rbx
        0x0f, 0x05,                                            // 18: syscall
    });
    store64(kDataFrame, kMagic);
    store64(kDataFrame + 8, ~kMagic);
    space_->map(kData, kDataFrame, false, false);
    UserRegisters regs = at(kCode);
    regs.fs_base = kData;
    regs.gs_base = kData;
    const UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(regs.rax, kMagic);
    EXPECT_EQ(regs.rbx, ~kMagic);
    EXPECT_EQ(regs.fs_base, kData);
    EXPECT_EQ(regs.gs_base, kData);
}

TEST_F(UserSpaceTest, MissingPageFaultsThenMapAndRerunSucceeds) {
    load({
        0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10,  // 0: mov 0x10000000, %rax
        0x0f, 0x05,                                      // 8: syscall
    });
    UserRegisters regs = at(kCode);
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault) << event.detail;
    EXPECT_EQ(event.address, kData);
    EXPECT_FALSE(event.present);
    EXPECT_EQ(regs.rip, kCode);

    store64(kDataFrame, kMagic);
    space_->map(kData, kDataFrame, false, false);
    event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(regs.rax, kMagic);
}

TEST_F(UserSpaceTest, WriteToReadOnlyPageIsPresentFault) {
    load({
        0x48, 0xc7, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00,  //  0: movq $1, 0x10000000
        0x0f, 0x05,                                                              // 12: syscall
    });
    space_->map(kData, kDataFrame, false, false);
    UserRegisters regs = at(kCode);
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault) << event.detail;
    EXPECT_EQ(event.address, kData);
    EXPECT_TRUE(event.present);

    space_->map(kData, kDataFrame, true, false);
    event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(load64(kDataFrame), 1u);
}

TEST_F(UserSpaceTest, ExecuteOnNonExecutablePageIsPresentFault) {
    load({0xff, 0xe0});                                // jmp *%rax
    std::memcpy(memory_ + kDataFrame, "\x0f\x05", 2);  // a syscall it must not reach
    space_->map(kData, kDataFrame, true, false);
    UserRegisters regs = at(kCode);
    regs.rax = kData;
    const UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault) << event.detail;
    EXPECT_EQ(event.address, kData);
    EXPECT_TRUE(event.present);
    EXPECT_EQ(regs.rip, kData);
}

TEST_F(UserSpaceTest, ExceptionsBecomeVectors) {
    struct Case {
        const char* name;
        Bytes code;
        uint8_t vector;
        uint64_t rip_offset;
    };
    const Case cases[] = {
        {"ud2", {0x0f, 0x0b}, 6, 0},
        {"hlt", {0xf4}, 13, 0},
        {"cli", {0xfa}, 13, 0},
        {"in %dx, %al", {0xec}, 13, 0},
        {"out %al, %dx", {0xee}, 13, 0},
        {"int $0x41", {0xcd, 0x41}, 13, 0},
        {"int3", {0xcc}, 3, 1},  // a trap: rip after the instruction, as the hardware pushes it
        {"xor %ecx, %ecx; div %ecx", {0x31, 0xc9, 0xf7, 0xf1}, 0, 2},
        // pushf; orq $0x40000 (AC), (%rsp); popf; mov 0x10000001, %eax
        {"misaligned load with AC",
         {0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x00, 0x04, 0x00, 0x9d, 0x8b, 0x04, 0x25, 0x01, 0x00, 0x00, 0x10},
         17,
         10},
        // pushf; orq $0x100 (TF), (%rsp); popf; nop: a trap after the nop
        {"single step", {0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90}, 1, 11},
        // fninit; fldcw 0x10000008 (divide by zero unmasked); fld1; fldz; fdivp; fwait: #MF at the fwait
        {"x87 divide by zero",
         {0xdb, 0xe3, 0xd9, 0x2c, 0x25, 0x08, 0x00, 0x00, 0x10, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0x9b},
         16,
         15},
        // ldmxcsr 0x10000000 (divide by zero unmasked); xorps %xmm1, %xmm1; mov $1, %eax;
        // cvtsi2ss %eax, %xmm0; divss %xmm1, %xmm0: #XM at the divss
        {"SSE divide by zero",
         {0x0f, 0xae, 0x14, 0x25, 0x00, 0x00, 0x00, 0x10, 0x0f, 0x57, 0xc9, 0xb8,
          0x01, 0x00, 0x00, 0x00, 0xf3, 0x0f, 0x2a, 0xc0, 0xf3, 0x0f, 0x5e, 0xc1},
         19,
         20},
    };
    store64(kDataFrame, 0x1f80 & ~0x200);    // MXCSR without ZM (SDM vol. 1, 10.2.3)
    store64(kDataFrame + 8, 0x037f & ~0x4);  // x87 control word without ZM (SDM vol. 1, 8.1.5)
    space_->map(kData, kDataFrame, false, false);
    space_->map(kStack, kStackFrame, true, false);
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        load(c.code);
        UserRegisters regs = at(kCode);
        const UserEvent event = space_->run(regs);
        ASSERT_EQ(event.kind, UserStop::Exception) << event.detail;
        EXPECT_EQ(event.vector, c.vector) << event.detail;
        EXPECT_EQ(regs.rip, kCode + c.rip_offset);
    }
}

TEST_F(UserSpaceTest, NonCanonicalRegistersAreGeneralProtection) {
    load({0x0f, 0x05});  // syscall
    UserRegisters regs = at(kCode);
    regs.fs_base = 0x8000'0000'0000'0000;
    UserEvent event = space_->run(regs);
    EXPECT_EQ(event.kind, UserStop::Exception);
    EXPECT_EQ(event.vector, 13) << event.detail;

    regs = at(0x8000'0000'0000);  // rip: the host's return to user mode faults
    event = space_->run(regs);
    EXPECT_EQ(event.kind, UserStop::Exception) << event.detail;
    EXPECT_EQ(event.vector, 13);

    regs = at(kCode);
    event = space_->run(regs);
    EXPECT_EQ(event.kind, UserStop::SystemCall) << event.detail;
}

TEST_F(UserSpaceTest, Int80IsSystemCallWithItsInstruction) {
    load({0xcd, 0x80});  // int $0x80
    UserRegisters regs = at(kCode);
    regs.rax = 0x1234'5678'0000'0014;  // getpid in the i386 table, with upper bits the host drops
    const UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(event.insn, 0x80cd);
    EXPECT_EQ(regs.rip, kCode + 2);
    EXPECT_EQ(regs.rax, 20u);
}

// The instruction is read from the child when the host cannot tell: here
// across two words and across two pages.
TEST_F(UserSpaceTest, Int80InstructionIsReadAcrossPages) {
    Bytes code(7, 0x90);  // nop * 7
    code.insert(code.end(), {0xcd, 0x80});
    load(code);
    UserRegisters regs = at(kCode);
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(event.insn, 0x80cd);

    memory_[kCodeFrame + kPage - 1] = 0xcd;  // int $0x80 at the last byte of the code page...
    memory_[kDataFrame] = 0x80;              // ...and the first of the next
    space_->map(kCode + kPage, kDataFrame, false, true);
    regs = at(kCode + kPage - 1);
    event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(event.insn, 0x80cd);
    EXPECT_EQ(regs.rip, kCode + kPage + 1);
}

TEST_F(UserSpaceTest, UnmapAllMakesMappedPagesFault) {
    load({
        0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10,  // 0: mov 0x10000000, %rax
        0x0f, 0x05,                                      // 8: syscall
    });
    space_->map(kData, kDataFrame, false, false);
    UserRegisters regs = at(kCode);
    ASSERT_EQ(space_->run(regs).kind, UserStop::SystemCall);

    space_->unmap_all();
    regs = at(kCode);
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault);  // the code went too
    EXPECT_EQ(event.address, kCode);

    space_->map(kCode, kCodeFrame, false, true);
    event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault);
    EXPECT_EQ(event.address, kData);
    EXPECT_FALSE(event.present);

    space_->map(kData, kDataFrame, false, false);
    space_->unmap(kData);
    event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault);  // map then unmap in one batch: unmapped
    EXPECT_EQ(event.address, kData);
}

TEST_F(UserSpaceTest, ContiguousPagesMergeIntoOneHostCall) {
    const UserSpace::Stats before = space_->stats();
    for (uint64_t i = 0; i < 64; ++i) space_->map(kData + i * kPage, kDataFrame + i * kPage, true, false);
    load({0x0f, 0x05});
    UserRegisters regs = at(kCode);
    ASSERT_EQ(space_->run(regs).kind, UserStop::SystemCall);
    const UserSpace::Stats after = space_->stats();
    EXPECT_EQ(after.batches - before.batches, 1u);
    EXPECT_EQ(after.host_calls - before.host_calls, 2u);  // the 64 data pages, the code page
    EXPECT_EQ(after.runs - before.runs, 1u);
    EXPECT_TRUE(mapped(space_->pid(), kData + 63 * kPage));
}

TEST_F(UserSpaceTest, BadArgumentsAreRefused) {
    EXPECT_THROW(space_->map(kData + 1, kDataFrame, false, false), std::invalid_argument);
    EXPECT_THROW(space_->map(layout::kKernelBase, kDataFrame, false, false), std::invalid_argument);
    EXPECT_THROW(space_->map(kData, kMemorySize, false, false), std::invalid_argument);
    EXPECT_THROW(space_->unmap(layout::kVmmHoleBase), std::invalid_argument);
    EXPECT_THROW(space_->map(layout::kVmmHoleBase, kDataFrame, false, false), std::invalid_argument);
    EXPECT_THROW(space_->map(kUserStubBase, kDataFrame, false, false), std::invalid_argument);
    EXPECT_THROW(space_->map(stub::kRequestArea, kDataFrame, false, false), std::invalid_argument);
    std::string error;
    EXPECT_FALSE(UserSpace::start(-1, kMemorySize, layout::kUserBase, layout::kUserEnd, error));
    EXPECT_NE(error.find("memory fd"), std::string::npos) << error;
    EXPECT_FALSE(UserSpace::start(fd_, kMemorySize, layout::kUserBase, layout::kVmmHoleBase + kPage, error));
    EXPECT_NE(error.find("hole"), std::string::npos) << error;
    EXPECT_FALSE(UserSpace::start(fd_, kMemorySize, layout::kVmmHoleEnd, kUserStubBase + kPage, error));
    EXPECT_NE(error.find("stub"), std::string::npos) << error;
    EXPECT_FALSE(UserSpace::start(fd_, 2 * kMemorySize, layout::kUserBase, layout::kUserEnd, error));
    EXPECT_NE(error.find("smaller"), std::string::npos) << error;
}

UserSpace* g_alarm_target = nullptr;
void on_alarm(int) { g_alarm_target->interrupt(); }

TEST_F(UserSpaceTest, InterruptFromAnotherThreadEndsALoop) {
    load({0xeb, 0xfe});  // jmp .
    UserRegisters regs = at(kCode);
    std::thread interrupter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        space_->interrupt();
    });
    const UserEvent event = space_->run(regs);
    interrupter.join();
    ASSERT_EQ(event.kind, UserStop::Interrupted) << event.detail;
    EXPECT_EQ(regs.rip, kCode);
}

TEST_F(UserSpaceTest, InterruptFromSignalHandlerDuringWait) {
    load({0xeb, 0xfe});  // jmp .
    struct sigaction action {
    }, old{};
    action.sa_handler = on_alarm;  // no SA_RESTART: waitpid sees EINTR
    sigemptyset(&action.sa_mask);
    ASSERT_EQ(sigaction(SIGALRM, &action, &old), 0);
    g_alarm_target = space_.get();
    itimerval timer{};
    timer.it_value.tv_usec = 20'000;
    ASSERT_EQ(setitimer(ITIMER_REAL, &timer, nullptr), 0);
    UserRegisters regs = at(kCode);
    const UserEvent event = space_->run(regs);
    sigaction(SIGALRM, &old, nullptr);
    EXPECT_EQ(event.kind, UserStop::Interrupted) << event.detail;
}

TEST_F(UserSpaceTest, InterruptBeforeRunStopsTheNextRunOnce) {
    load({0x0f, 0x05});  // syscall
    space_->interrupt();
    UserRegisters regs = at(kCode);
    EXPECT_EQ(space_->run(regs).kind, UserStop::Interrupted);
    EXPECT_EQ(regs.rip, kCode);  // nothing ran
    // The signal interrupt() sent arrives now, stale: no second Interrupted.
    EXPECT_EQ(space_->run(regs).kind, UserStop::SystemCall);
    EXPECT_EQ(regs.rip, kCode + 2);
}

TEST_F(UserSpaceTest, InterruptStormNeitherHangsNorRepeats) {
    load({0x0f, 0x05, 0xeb, 0xfc});  // 0: syscall; 2: jmp 0
    std::atomic<bool> stop{false};
    std::atomic<int> sent{0};
    std::thread interrupter([&] {
        while (!stop) {
            space_->interrupt();
            ++sent;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    UserRegisters regs = at(kCode);
    int interrupted = 0, calls = 0;
    for (int i = 0; i < 3000; ++i) {
        const UserEvent event = space_->run(regs);
        ASSERT_TRUE(event.kind == UserStop::SystemCall || event.kind == UserStop::Interrupted) << event.detail;
        (event.kind == UserStop::Interrupted ? interrupted : calls)++;
    }
    stop = true;
    interrupter.join();
    EXPECT_GT(interrupted, 0);
    EXPECT_LE(interrupted, sent.load());
    // At most one interrupt is still pending; then the program runs on.
    UserEvent event = space_->run(regs);
    if (event.kind == UserStop::Interrupted) event = space_->run(regs);
    EXPECT_EQ(event.kind, UserStop::SystemCall);
    std::printf("[ storm    ] %d runs: %d system calls, %d interrupted, %d interrupts sent\n", 3001, calls, interrupted,
                sent.load());
}

TEST_F(UserSpaceTest, ChildHoldsOnlyTheStubAndUserPages) {
    load({
        0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40,  // 0: mov 0x40000000 (the kernel window), %rax
        0x48, 0x8b, 0x03,                                // 8: mov (%rbx), %rax
    });
    space_->map(kData, kDataFrame, true, false);
    UserRegisters regs = at(kCode);
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault) << event.detail;
    EXPECT_EQ(event.address, layout::kKernelBase);
    EXPECT_FALSE(event.present);
    static const uint64_t host_global = kMagic;  // this process's memory is not there either
    regs.rip = kCode + 8;
    regs.rbx = reinterpret_cast<uint64_t>(&host_global);
    event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault) << event.detail;
    EXPECT_FALSE(event.present);

    // Below kVmmHoleEnd (user range, kernel window, hole): user pages only.
    // Above: the stub's code page (execute only) and its request area (no
    // access while user code runs), and [vsyscall].
    const pid_t pid = space_->pid();
    uint64_t stub_bytes = 0;
    for (const Mapping& m : maps_of(pid)) {
        SCOPED_TRACE(m.name + " " + m.perms);
        if (m.name == "[vsyscall]") continue;  // in the kernel's half: no process can unmap it
        const bool user = m.begin >= layout::kUserBase && m.end <= layout::kUserEnd;
        const bool in_stub = m.begin >= kUserStubBase && m.end <= kUserStubEnd;
        EXPECT_TRUE(user || in_stub) << std::hex << m.begin << "-" << m.end;
        if (m.begin < layout::kVmmHoleEnd) {
            EXPECT_TRUE(user) << std::hex << m.begin << "-" << m.end;
            EXPECT_NE(m.name.find("memfd:guest-memory"), std::string::npos);
        }
        if (in_stub) {
            stub_bytes += m.end - m.begin;
            EXPECT_EQ(m.perms, m.begin == stub::kCodePage ? "--xp" : "---s");
        }
    }
    EXPECT_EQ(stub_bytes, kUserStubEnd - kUserStubBase);
    EXPECT_TRUE(mapped(pid, kCode));
    EXPECT_TRUE(mapped(pid, kData));
    EXPECT_FALSE(mapped(pid, layout::kVmmHoleBase));

    std::vector<std::string> fds;
    const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* dir = opendir(fd_dir.c_str());
    ASSERT_NE(dir, nullptr);
    while (dirent* entry = readdir(dir))
        if (entry->d_name[0] != '.') fds.push_back(entry->d_name);
    closedir(dir);
    ASSERT_EQ(fds.size(), 1u);
    char target[256] = {};
    ASSERT_GT(readlink((fd_dir + "/" + fds[0]).c_str(), target, sizeof target - 1), 0);
    EXPECT_NE(std::string(target).find("memfd:guest-memory"), std::string::npos) << target;

    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string text((std::istreambuf_iterator<char>(status)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("Seccomp:\t2"), std::string::npos);
    EXPECT_NE(text.find("NoNewPrivs:\t1"), std::string::npos);
}

// Every `syscall` byte pair in the stub's code, reached by a jump from user
// code with the arguments of getpid, write and mmap, must stop as SystemCall
// and leave no trace on the host.
TEST_F(UserSpaceTest, JumpingIntoTheStubCannotMakeHostCalls) {
    const pid_t pid = space_->pid();
    std::vector<uint64_t> sites;
    for (const Mapping& m : maps_of(pid)) {
        if (m.perms.find('x') == std::string::npos || m.begin < kUserStubBase || m.end > kUserStubEnd) continue;
        std::vector<uint8_t> code(m.end - m.begin);
        const int mem = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
        ASSERT_GE(mem, 0);
        ASSERT_EQ(pread(mem, code.data(), code.size(), static_cast<off_t>(m.begin)), static_cast<ssize_t>(code.size()));
        close(mem);
        for (size_t i = 0; i + 1 < code.size(); ++i)
            if (code[i] == 0x0f && code[i + 1] == 0x05) sites.push_back(m.begin + i);
    }
    ASSERT_GE(sites.size(), 10u);  // the set-up's six, the batch's four at least

    store64(0, kMagic);  // where write(3, ...) would land: guest-physical 0
    space_->map(kData, kDataFrame, true, false);
    for (const uint64_t site : sites) {
        SCOPED_TRACE(site);
        Bytes jump = {0x48, 0xbb};  // 0: mov $site, %rbx
        for (int i = 0; i < 8; ++i) jump.push_back(static_cast<uint8_t>(site >> (8 * i)));
        jump.insert(jump.end(), {0xff, 0xe3});  // 10: jmp *%rbx
        load(jump);
        const uint64_t calls[][7] = {
            {SYS_getpid, 0, 0, 0, 0, 0, 0},
            {SYS_write, 3, kData, 8, 0, 0, 0},
            {SYS_mmap, 0x2000'0000, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 3, 0},
        };
        for (const auto& call : calls) {
            UserRegisters regs = at(kCode);
            regs.rax = call[0], regs.rdi = call[1], regs.rsi = call[2], regs.rdx = call[3];
            regs.r10 = call[4], regs.r8 = call[5], regs.r9 = call[6];
            const UserEvent event = space_->run(regs);
            ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
            EXPECT_EQ(event.insn, 0x050f);
            EXPECT_EQ(regs.rip, site + 2);
            EXPECT_EQ(regs.rax, call[0]);
        }
    }
    EXPECT_EQ(load64(0), kMagic);
    EXPECT_FALSE(mapped(pid, 0x2000'0000));
}

// What user code finds where bare hardware has nothing for it (the VMM hole)
// and where the child keeps the stub: a fault, never a value. Each run
// follows a batch (load() queues a map), after which the request area must
// be inaccessible again.
TEST_F(UserSpaceTest, UserCodeCannotReadNorWriteTheHoleOrTheStub) {
    const bool keys = host_has_protection_keys();
    struct Target {
        const char* name;
        uint64_t address;
        bool present;  // mapped in the child: an access violation, not a missing page
    };
    const Target targets[] = {
        {"hole base", layout::kVmmHoleBase, false},
        {"hole's last page", layout::kVmmHoleEnd - kPage, false},
        {"stub code page (ELF header)", stub::kCodePage, true},
        {"stub code", stub::kCodePage + 0x100, true},
        {"request area", stub::kRequestArea, true},
        {"request area's last word", stub::kRequestArea + stub::kRequestBytes - 8, true},
    };
    const Bytes read = {0x48, 0x8b, 0x03, 0x0f, 0x05};   // mov (%rbx), %rax; syscall
    const Bytes write = {0x48, 0x89, 0x03, 0x0f, 0x05};  // mov %rax, (%rbx); syscall
    for (const Target& t : targets) {
        for (const Bytes* code : {&read, &write}) {
            SCOPED_TRACE(std::string(t.name) + (code == &read ? ", read" : ", write"));
            load(*code);
            UserRegisters regs = at(kCode);
            regs.rbx = t.address;
            const UserEvent event = space_->run(regs);
            const bool readable_code = !keys && code == &read && t.address < stub::kRequestArea && t.present;
            if (readable_code) {  // no protection keys: PROT_EXEC implies read (user_space.h)
                EXPECT_EQ(event.kind, UserStop::SystemCall) << event.detail;
                continue;
            }
            ASSERT_EQ(event.kind, UserStop::PageFault) << event.detail << ": rax " << std::hex << regs.rax;
            EXPECT_EQ(event.address, t.address);
            EXPECT_EQ(event.present, t.present);
            EXPECT_EQ(regs.rip, kCode);
        }
    }
    if (!keys) std::printf("[ note     ] no protection keys on this host: the stub's code page is readable\n");
}

// Protection keys are user state: user code that clears PKRU reads the
// stub's code (no secret). The request area is PROT_NONE in the page tables
// and stays out of reach.
TEST_F(UserSpaceTest, ClearingPkruRevealsOnlyTheStubsCode) {
    if (!host_has_protection_keys()) GTEST_SKIP() << "no protection keys on this host";
    load({
        0x31, 0xc9,        //  0: xor %ecx, %ecx
        0x31, 0xd2,        //  2: xor %edx, %edx
        0x31, 0xc0,        //  4: xor %eax, %eax
        0x0f, 0x01, 0xef,  //  6: wrpkru: every key allows access
        0x48, 0x8b, 0x03,  //  9: mov (%rbx), %rax
        0x0f, 0x05,        // 12: syscall
        0x48, 0x8b, 0x06,  // 14: mov (%rsi), %rax
        0x0f, 0x05,        // 17: syscall
    });
    UserRegisters regs = at(kCode);
    regs.rbx = stub::kCodePage;
    regs.rsi = stub::kRequestArea;
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(regs.rax, 0x0001'0102'464c'457fu);  // "\x7f" "ELF", 64-bit, little-endian, version 1
    event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::PageFault) << event.detail;
    EXPECT_EQ(event.address, stub::kRequestArea);
    EXPECT_TRUE(event.present);
    EXPECT_EQ(regs.rip, kCode + 14);
}

// User code that denies every protection key, key 0 included (the request
// area's and its own pages'), must not break the stub: each batch sets the
// stub's PKRU again, which also hides the code page again.
TEST_F(UserSpaceTest, DenyingEveryPkruKeyCannotBreakTheStub) {
    if (!host_has_protection_keys()) GTEST_SKIP() << "no protection keys on this host";
    load({
        0xb8, 0xff, 0xff, 0xff, 0xff,  //  0: mov $0xffffffff, %eax: every key denies access
        0x31, 0xc9,                    //  5: xor %ecx, %ecx
        0x31, 0xd2,                    //  7: xor %edx, %edx
        0x0f, 0x01, 0xef,              //  9: wrpkru
        0x0f, 0x05,                    // 12: syscall
        0x48, 0x8b, 0x03,              // 14: mov (%rbx), %rax
        0x0f, 0x05,                    // 17: syscall
    });
    UserRegisters regs = at(kCode);
    ASSERT_EQ(space_->run(regs).kind, UserStop::SystemCall);
    ASSERT_EQ(regs.rip, kCode + 14);

    store64(kDataFrame, kMagic);
    space_->map(kData, kDataFrame, false, false);  // a batch under user code's PKRU
    regs.rbx = kData;
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::SystemCall) << event.detail;
    EXPECT_EQ(regs.rax, kMagic);

    regs.rip = kCode + 14;
    regs.rbx = stub::kCodePage;
    event = space_->run(regs);  // no batch: user code reads under the stub's PKRU
    ASSERT_EQ(event.kind, UserStop::PageFault) << event.detail;
    EXPECT_EQ(event.address, stub::kCodePage);
    EXPECT_TRUE(event.present);
}

// The vsyscall page is the kernel emulating calls without a ptrace stop; the
// child's seccomp filter refuses them.
TEST_F(UserSpaceTest, VsyscallPageIsNoWayOut) {
    load({
        0x48, 0xc7, 0xc0, 0x00, 0x00, 0x60, 0xff,  // 0: mov $0xffffffffff600000 (gettimeofday), %rax
        0xff, 0xd0,                                // 7: call *%rax
    });
    space_->map(kData, kDataFrame, true, false);
    space_->map(kStack, kStackFrame, true, false);
    store64(kDataFrame, kMagic);
    UserRegisters regs = at(kCode);
    regs.rdi = kData;  // struct timeval *
    const UserEvent event = space_->run(regs);
    EXPECT_EQ(event.kind, UserStop::Exception) << event.detail;
    EXPECT_EQ(event.vector, 13);
    EXPECT_NE(event.detail.find("seccomp"), std::string::npos) << event.detail;
    EXPECT_EQ(load64(kDataFrame), kMagic);  // gettimeofday did not write
}

TEST_F(UserSpaceTest, KilledChildIsDied) {
    load({0x0f, 0x05});
    UserRegisters regs = at(kCode);
    ASSERT_EQ(space_->run(regs).kind, UserStop::SystemCall);
    ASSERT_EQ(kill(space_->pid(), SIGKILL), 0);
    UserEvent event = space_->run(regs);
    ASSERT_EQ(event.kind, UserStop::Died);
    EXPECT_EQ(event.detail, "killed by signal 9 (Killed)");
    EXPECT_EQ(space_->run(regs).kind, UserStop::Died);
    space_->interrupt();  // the pid is reaped: harmless
    space_->map(kData, kDataFrame, false, false);
    EXPECT_EQ(space_->run(regs).kind, UserStop::Died);
}

TEST_F(UserSpaceTest, ChildKilledWhileRunningIsDied) {
    load({0xeb, 0xfe});  // jmp .
    const pid_t pid = space_->pid();
    std::thread killer([pid] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        kill(pid, SIGKILL);
    });
    UserRegisters regs = at(kCode);
    const UserEvent event = space_->run(regs);
    killer.join();
    EXPECT_EQ(event.kind, UserStop::Died);
}

TEST_F(UserSpaceTest, DestructorReapsTheChild) {
    const pid_t pid = space_->pid();
    ASSERT_FALSE(gone(pid));
    space_.reset();
    int status;
    EXPECT_EQ(waitpid(pid, &status, WNOHANG | __WALL), -1);
    EXPECT_EQ(errno, ECHILD);
    EXPECT_TRUE(gone(pid));
}

// The child must not outlive the thread that started it (PR_SET_PDEATHSIG,
// PTRACE_O_EXITKILL). As a subreaper this process inherits and reaps it.
TEST_F(UserSpaceTest, ChildDiesWithItsParent) {
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const pid_t parent = fork();
    ASSERT_GE(parent, 0);
    if (parent == 0) {  // a parent that exits without the destructor
        std::string error;
        auto orphan = UserSpace::start(fd_, kMemorySize, layout::kUserBase, layout::kUserEnd, error);
        const pid_t child = orphan ? orphan->pid() : -1;
        if (write(pipe_fds[1], &child, sizeof child) != sizeof child) _exit(2);
        _exit(0);
    }
    close(pipe_fds[1]);
    pid_t child = -1;
    ASSERT_EQ(read(pipe_fds[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
    close(pipe_fds[0]);
    int status;
    ASSERT_EQ(waitpid(parent, &status, 0), parent);
    ASSERT_GT(child, 0);
    pid_t reaped = 0;
    for (int i = 0; i < 500 && reaped == 0; ++i) {
        reaped = waitpid(child, &status, WNOHANG | __WALL);
        if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    ASSERT_EQ(reaped, child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

// Benchmarks: printed, not asserted.
double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_F(UserSpaceTest, ReportCosts) {
    load({0x0f, 0x05, 0xeb, 0xfc});  // 0: syscall; 2: jmp 0
    UserRegisters regs = at(kCode);
    // Microseconds per round, the best of five (the host is a shared VM).
    auto best = [](int rounds, auto&& body) {
        double result = 1e30;
        for (int trial = 0; trial < 5; ++trial) {
            const auto start = std::chrono::steady_clock::now();
            for (int r = 0; r < rounds; ++r) body();
            result = std::min(result, seconds_since(start) / rounds * 1e6);
        }
        return result;
    };
    auto system_call = [&] { EXPECT_EQ(space_->run(regs).kind, UserStop::SystemCall); };
    // Every other page, so that no two requests merge.
    auto map_64 = [&] {
        for (uint64_t i = 0; i < 64; ++i) space_->map(kData + 2 * i * kPage, kDataFrame + i * kPage, true, false);
    };
    const double round_trip = best(4000, system_call);
    std::printf("[ cost     ] run() round trip of a syscall: %.2f us\n", round_trip);
    const double batched = best(40, [&] {
        map_64();
        system_call();
    });
    const double one_by_one = best(4, [&] {
        for (uint64_t i = 0; i < 64; ++i) {
            space_->map(kData + 2 * i * kPage, kDataFrame + i * kPage, true, false);
            system_call();
        }
    });
    std::printf("[ cost     ] 64 maps in one batch: %.1f us; one stop per map (like injecting each call): %.1f us\n",
                batched - round_trip, one_by_one - 64 * round_trip);
    const double single = best(400, [&] {
        space_->map(kData, kDataFrame, true, false);
        system_call();
    });
    std::printf("[ cost     ] a batch of one map: %.1f us\n", single - round_trip);

    void* scratch = mmap(nullptr, 128 * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(scratch, MAP_FAILED);
    const double host = best(40, [&] {
        for (uint64_t i = 0; i < 64; ++i) {
            void* page = static_cast<uint8_t*>(scratch) + 2 * i * kPage;
            EXPECT_EQ(mmap(page, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_,
                           static_cast<off_t>(kDataFrame + i * kPage)),
                      page);
        }
    });
    munmap(scratch, 128 * kPage);
    std::printf("[ cost     ]   the same 64 mmaps made directly by this process: %.1f us\n", host);
    // What each batch adds to keep the request area from user code.
    auto* area = static_cast<volatile uint8_t*>(
        mmap(nullptr, stub::kRequestBytes, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(area, MAP_FAILED);
    const double protect = best(4000, [&] {
        mprotect(const_cast<uint8_t*>(area), stub::kRequestBytes, PROT_READ);
        (void)area[0];
        mprotect(const_cast<uint8_t*>(area), stub::kRequestBytes, PROT_NONE);
    });
    munmap(const_cast<uint8_t*>(area), stub::kRequestBytes);
    std::printf("[ cost     ]   the request area's two mprotects made directly by this process: %.2f us\n", protect);

    const double lifetime = best(10, [&] {
        std::string error;
        EXPECT_TRUE(UserSpace::start(fd_, kMemorySize, layout::kUserBase, layout::kUserEnd, error)) << error;
    });
    std::printf("[ cost     ] start() and destruction: %.0f us\n", lifetime);
}

}  // namespace
}  // namespace previrt::vmm::process
