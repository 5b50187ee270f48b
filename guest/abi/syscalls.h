// The reference guest's system-call interface, shared by the kernel and the
// user programs built with it. Described in docs/guest.md.
//
// Convention (the x86-64 System V kernel convention): `syscall` with the number
// in rax and arguments in rdi, rsi, rdx, r10, r8; the result comes back in rax,
// a negative Error on failure. rcx and r11 are clobbered.
#pragma once

#include <stdint.h>

namespace guest::sys {

enum Number : uint64_t {
    kWrite = 0,   // (fd, const void* buf, size) -> bytes written
    kRead = 1,    // (fd, void* buf, size) -> bytes read, at least 1; 0 at end of a pipe
    kExit = 2,    // (status) -> does not return
    kSpawn = 3,   // (const char* program, uint64_t arg) -> pid; the child inherits the fds
    kWait = 4,    // (pid, int64_t* status) -> pid, once that child has exited
    kYield = 5,   // () -> 0
    kGetpid = 6,  // () -> pid
    kPipe = 7,    // (int32_t fds[2]) -> 0; fds[0] reads, fds[1] writes
    kMap = 8,     // (size) -> address of that many demand-zero bytes (page granular, no execute)
    kUnmap = 9,   // (address, size) -> 0
    kClock = 10,  // () -> nanoseconds since boot
    kClose = 11,  // (fd) -> 0
    kKill = 12,   // (pid) -> 0
    kKernelTest = 13,   // (KernelTest, uint64_t arg) -> 0 on pass, negative on failure
    kKernelBench = 14,  // (KernelBench, iterations) -> TSC cycles for all iterations
    kInfo = 15,         // (Info) -> value
    kCount
};

enum Error : int64_t {
    kNoEntry = -2,       // no such program
    kNoProcess = -3,     // no such pid
    kBadFd = -9,
    kNoChild = -10,      // wait: not a child of the caller
    kNoMemory = -12,
    kFault = -14,        // a user pointer that does not point into the caller's memory
    kInvalid = -22,
    kTooMany = -24,      // no free fd, process or pipe slot
    kBrokenPipe = -32,   // write to a pipe nobody reads
    kNoSys = -38,        // unknown system-call number
};

// Checks that run inside the kernel, on behalf of the self-test.
enum KernelTest : uint64_t {
    kTestIrqsaveLock = 0,  // pushf; cli ... popf: IF saved and restored, nested too
    kTestCliSti = 1,       // cli/sti change IF as seen by pushf
    kTestUartLoopback = 2, // a byte sent in the UART's loopback mode arrives through the receive interrupt
    kTestTimerTicks = 3,   // the tick count rises while interrupts are enabled
    kTestPciScan = 4,      // the scan found a host bridge
};

// Micro-benchmarks that must run in the kernel (user mode may not cli).
enum KernelBench : uint64_t {
    kBenchCliSti = 0,        // one cli; sti pair
    kBenchIrqsaveLock = 1,   // lock and unlock of an irqsave spinlock
    kBenchTimerDelivery = 2, // cycles from the timer interrupt's entry to its iret, averaged over `iterations` ticks
};

enum Info : uint64_t {
    kInfoTicks = 0,        // timer ticks since boot
    kInfoTickHz = 1,       // timer frequency
    kInfoTscHz = 2,        // TSC frequency, calibrated against the PIT
    kInfoPciDevices = 3,   // PCI functions found by the scan
    kInfoFreeFrames = 4,   // free 4 KiB physical frames
    kInfoArgFlags = 5,     // flags from the kernel command line (kFlag*)
};

// wait() status of a process the kernel killed for a fault: this plus the
// exception vector (14 for a page fault, 13 for a general protection fault).
inline constexpr int64_t kStatusKilled = 0x100;

inline constexpr uint64_t kFlagShort = 1;  // "short": fewer iterations, for platforms that emulate every instruction
inline constexpr uint64_t kFlagEcho = 2;   // "echo": the self-test also echoes one console line typed by a person

}  // namespace guest::sys
