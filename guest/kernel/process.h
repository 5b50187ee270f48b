// Processes: a user address space, a kernel stack, open files; and the
// preemptive round-robin scheduler that runs them, one CPU.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/interrupts.h"
#include "arch/x86_64/paging.h"
#include "kernel/wait_queue.h"

namespace guest {

struct File;

inline constexpr unsigned kMaxProcesses = 32;
inline constexpr unsigned kMaxFiles = 16;
inline constexpr unsigned kMaxRegions = 16;
inline constexpr uint64_t kKernelStackSize = 16 * 1024;
inline constexpr uint32_t kTimerHz = 100;  // the scheduler's tick: 10 ms time slices

enum class ProcessState : uint8_t { Free, Ready, Running, Blocked, Zombie };

// A range of user memory that is filled with zero pages on first touch.
struct DemandRegion {
    uint64_t start = 0, end = 0;
};

struct Process {
    int64_t pid = 0;
    ProcessState state = ProcessState::Free;
    char name[16] = {};
    int64_t parent = 0;
    int64_t exit_status = 0;
    paging::AddressSpace space;
    uint64_t kernel_stack = 0;   // lowest address of the kernel stack (in the kernel window)
    uint64_t saved_rsp = 0;      // while not running: where switch_context left it
    File* files[kMaxFiles] = {};
    DemandRegion regions[kMaxRegions];
    uint64_t next_map = 0;       // where map() looks for room next
    WaitQueue children_exited;   // the parent waits here
    Process* next_waiter = nullptr;
    WaitQueue* waiting_on = nullptr;
};

void scheduler_init();
Process* current();

// Creates a process running the embedded program `name`, with `arg` in rdi.
// Returns the pid, or a negative sys::Error.
int64_t spawn(const char* name, uint64_t arg, Process* parent);
[[noreturn]] void exit_current(int64_t status);
int64_t wait_child(int64_t pid, int64_t* status);
int64_t kill(int64_t pid);
void yield();

// Called on every timer tick, and at the end of every IRQ.
void timer_tick();
void preempt_if_needed();
// Runs the scheduler's idle loop until `pid` has exited; returns its status.
int64_t run_until_exit(int64_t pid);

// Page faults: demand-zero regions of the current process.
bool handle_page_fault(InterruptFrame& frame);
bool handle_page_fault_at(const InterruptFrame& frame, uint64_t addr);
void kill_current_for_fault(InterruptFrame& frame, const char* what);

uint64_t ticks();

}  // namespace guest
