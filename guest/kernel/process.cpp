#include "kernel/process.h"

#include "abi/syscalls.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "kernel/console.h"
#include "kernel/elf_loader.h"
#include "kernel/file.h"
#include "kernel/frames.h"
#include "kernel/spinlock.h"
#include "kernel/syscall.h"
#include "lib/string.h"
#include "previrt/guest_layout.h"
#include "x86/paging.h"

extern "C" void switch_context(uint64_t* save_rsp, uint64_t next_rsp);
extern "C" void process_start();
extern "C" [[noreturn]] void enter_user(uint64_t rip, uint64_t rsp, uint64_t arg);

namespace guest {
namespace {

namespace layout = previrt::layout;

// Slot 0 is the kernel's own thread: it runs the idle loop and is chosen only
// when no process is ready.
Process table[kMaxProcesses];
alignas(16) uint8_t kernel_stacks[kMaxProcesses][kKernelStackSize];
Process* running;
int64_t next_pid = 1;
volatile uint64_t tick_count;
bool need_resched;
IrqSaveLock sched_lock;  // guards the table; taken with interrupts off

struct Entry {
    uint64_t rip, rsp, arg;
};
Entry entries[kMaxProcesses];

unsigned slot(const Process* p) { return static_cast<unsigned>(p - table); }
Process* idle() { return &table[0]; }

Process* pick_next() {
    unsigned start = slot(running);
    for (unsigned i = 1; i <= kMaxProcesses; ++i) {
        Process& p = table[(start + i) % kMaxProcesses];
        if (&p != idle() && (p.state == ProcessState::Ready || (&p == running && p.state == ProcessState::Running)))
            return &p;
    }
    return idle();
}

// Runs the next process. Interrupts must be off.
void schedule() {
    need_resched = false;
    Process* prev = running;
    Process* next = pick_next();
    if (next == prev) return;
    if (prev->state == ProcessState::Running) prev->state = ProcessState::Ready;
    next->state = ProcessState::Running;
    running = next;
    uint64_t stack_top = next->kernel_stack + kKernelStackSize;
    gdt::set_kernel_stack(stack_top);
    percpu.kernel_rsp = stack_top;
    paging::activate(next == idle() || !next->space.root ? paging::kernel_space() : next->space);
    switch_context(&prev->saved_rsp, next->saved_rsp);
}

void remove_waiter(Process* p) {
    if (!p->waiting_on) return;
    for (Process** link = &p->waiting_on->head; *link; link = &(*link)->next_waiter) {
        if (*link == p) {
            *link = p->next_waiter;
            break;
        }
    }
    p->next_waiter = nullptr;
    p->waiting_on = nullptr;
}

// Tears a process down to a zombie: its memory and files go now, its kernel
// stack and slot when its parent collects the status.
void release(Process* p, int64_t status) {
    for (File*& f : p->files) {
        if (f) file_close(f);
        f = nullptr;
    }
    if (p->space.root) {
        if (cpu::read_cr3() == p->space.root) paging::activate(paging::kernel_space());
        paging::destroy(p->space);
    }
    p->exit_status = status;
    p->state = ProcessState::Zombie;
    for (Process& c : table)
        if (c.state != ProcessState::Free && c.parent == p->pid) c.parent = 0;
    for (Process& q : table)
        if (q.state != ProcessState::Free && q.pid == p->parent) wake_all(q.children_exited);
}

void reap(Process* p) {
    p->state = ProcessState::Free;
    p->pid = 0;
}

}  // namespace

PerCpu percpu;

extern "C" [[noreturn]] void process_entry() {
    Entry e = entries[slot(running)];
    enter_user(e.rip, e.rsp, e.arg);
}

void scheduler_init() {
    Process& k = table[0];
    k.state = ProcessState::Running;
    memcpy(k.name, "kernel", 7);
    k.kernel_stack = reinterpret_cast<uint64_t>(kernel_stacks[0]);
    running = &k;
}

Process* current() { return running; }
uint64_t ticks() { return tick_count; }

int64_t spawn(const char* name, uint64_t arg, Process* parent) {
    const Program* program = find_program(name);
    if (!program) return sys::kNoEntry;

    Process* p = nullptr;
    {
        LockGuard g(sched_lock);
        for (unsigned i = 1; i < kMaxProcesses && !p; ++i)
            if (table[i].state == ProcessState::Free) p = &table[i];
        if (!p) return sys::kTooMany;
        *p = Process{};
        p->state = ProcessState::Blocked;  // not runnable until set up
        p->pid = next_pid++;
    }
    size_t n = strlen(name);
    memcpy(p->name, name, n < sizeof p->name - 1 ? n : sizeof p->name - 1);
    p->parent = parent ? parent->pid : 0;
    p->kernel_stack = reinterpret_cast<uint64_t>(kernel_stacks[slot(p)]);
    p->next_map = layout::kUserHeapBase;

    uint64_t entry = 0;
    int64_t err = sys::kNoMemory;
    if (!paging::create(p->space) || (err = load_program(*program, p->space, &entry)) < 0) {
        if (p->space.root) paging::destroy(p->space);
        reap(p);
        return err;
    }
    // The user stack is a demand-zero region like any other.
    p->regions[0] = {layout::kUserStackTop - layout::kUserStackSize, layout::kUserStackTop};
    if (parent) {
        for (unsigned i = 0; i < kMaxFiles; ++i)
            if (parent->files[i]) p->files[i] = file_ref(parent->files[i]);
    } else {
        p->files[0] = file_open_console(File::Kind::ConsoleIn);
        p->files[1] = file_open_console(File::Kind::ConsoleOut);
        p->files[2] = file_open_console(File::Kind::ConsoleOut);
    }
    entries[slot(p)] = {entry, layout::kUserStackTop, arg};

    // The first switch to the process "returns" into process_start.
    uint64_t* sp = reinterpret_cast<uint64_t*>(p->kernel_stack + kKernelStackSize);
    *--sp = 0;  // keeps the stack 16-byte aligned at process_entry's call
    *--sp = reinterpret_cast<uint64_t>(process_start);
    for (int i = 0; i < 6; ++i) *--sp = 0;  // rbp, rbx, r12-r15
    p->saved_rsp = reinterpret_cast<uint64_t>(sp);

    LockGuard g(sched_lock);
    p->state = ProcessState::Ready;
    return p->pid;
}

void exit_current(int64_t status) {
    cpu::cli();
    release(running, status);
    schedule();
    panic("a zombie ran again");
}

int64_t wait_child(int64_t pid, int64_t* status) {
    uint64_t flags = sched_lock.lock();
    for (;;) {
        Process* child = nullptr;
        for (Process& p : table)
            if (p.state != ProcessState::Free && &p != idle() && p.pid == pid && p.parent == running->pid) child = &p;
        if (!child) {
            sched_lock.unlock(flags);
            return sys::kNoChild;
        }
        if (child->state == ProcessState::Zombie) {
            *status = child->exit_status;
            reap(child);
            sched_lock.unlock(flags);
            return pid;
        }
        sleep_on(running->children_exited, sched_lock);
    }
}

int64_t kill(int64_t pid) {
    if (pid == running->pid) exit_current(sys::kStatusKilled + 255);
    LockGuard g(sched_lock);
    for (Process& p : table) {
        if (&p == idle() || p.pid != pid || p.state == ProcessState::Free) continue;
        if (p.state == ProcessState::Zombie) return 0;
        remove_waiter(&p);
        release(&p, sys::kStatusKilled + 255);
        return 0;
    }
    return sys::kNoProcess;
}

void yield() {
    uint64_t flags = cpu::read_flags();
    cpu::cli();
    schedule();
    cpu::write_flags(flags);
}

void sleep_on(WaitQueue& q, IrqSaveLock& held) {
    running->state = ProcessState::Blocked;
    running->next_waiter = q.head;
    running->waiting_on = &q;
    q.head = running;
    held.release();
    schedule();
    held.acquire();
}

void wake_all(WaitQueue& q) {
    for (Process* p = q.head; p;) {
        Process* next = p->next_waiter;
        p->next_waiter = nullptr;
        p->waiting_on = nullptr;
        if (p->state == ProcessState::Blocked) p->state = ProcessState::Ready;
        p = next;
    }
    q.head = nullptr;
    need_resched = true;
}

void timer_tick() {
    tick_count = tick_count + 1;
    need_resched = true;
}

void preempt_if_needed() {
    if (need_resched) schedule();
}

int64_t run_until_exit(int64_t pid) {
    for (;;) {
        cpu::cli();
        for (Process& p : table) {
            if (p.state == ProcessState::Zombie && p.pid == pid) {
                int64_t status = p.exit_status;
                reap(&p);
                cpu::sti();
                return status;
            }
            // Orphans: nobody will wait for them.
            if (p.state == ProcessState::Zombie && p.parent == 0) reap(&p);
        }
        need_resched = false;
        schedule();
        cpu::sti_hlt();
    }
}

bool handle_page_fault(InterruptFrame& frame) { return handle_page_fault_at(frame, cpu::read_cr2()); }

bool handle_page_fault_at(const InterruptFrame& frame, uint64_t addr) {
    // The page was present: a protection fault.
    if (!frame.from_user() || (frame.error_code & previrt::x86::kPfPresent) || running == idle()) return false;
    uint64_t page = addr & ~(kPageSize - 1);
    for (const DemandRegion& r : running->regions) {
        if (page < r.start || page >= r.end) continue;
        uint64_t f = frame_alloc();
        if (!f) return false;
        if (!paging::map(running->space, page, f, paging::kWritable | paging::kNoExecute)) {
            frame_free(f);
            return false;
        }
        return true;
    }
    return false;
}

void kill_current_for_fault(InterruptFrame& frame, const char* what) {
    kprintf("pid %ld (%s): %s at rip %lx, address %lx, error %lx: killed\n", running->pid, running->name, what,
            frame.rip, cpu::read_cr2(), frame.error_code);
    exit_current(sys::kStatusKilled + static_cast<int64_t>(frame.vector));
}

}  // namespace guest
