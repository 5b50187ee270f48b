#include "vmm/process/backend.h"

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstddef>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "afterburner/insn_decoder.h"
#include "devices/clock.h"
#include "devices/cmos_rtc.h"
#include "devices/exit_port.h"
#include "devices/pci_host.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/port_bus.h"
#include "devices/uart16550.h"
#include "elf/elf_file.h"
#include "monitors/loader/guest_loader.h"
#include "previrt/guest_layout.h"
#include "vmm/core/emulator.h"
#include "vmm/core/guest_memory.h"
#include "vmm/core/transitions.h"
#include "vmm/process/hole.h"
#include "vmm/process/host_filter.h"
#include "vmm/process/paravirt.h"
#include "vmm/process/site_rewriter.h"
#include "vmm/process/user_space.h"
#include "vmm/process/working_sets.h"

using previrt::vmm::Vcpu;

extern "C" {
Vcpu previrt_vcpu;
uint64_t previrt_hot = previrt::vmm::process::kHotPage;
uint64_t previrt_vmm_stack_top;
uint64_t previrt_host_fs_base;
uint64_t previrt_pv_op;
void previrt_pv_entry();
[[noreturn]] void previrt_on_pv();
void previrt_site_entry();
void previrt_event_entry();
[[noreturn]] void previrt_resume_guest();
extern const char previrt_resume_guest_end[], previrt_fast_begin[], previrt_fast_end[];
void previrt_fast_sti();
void previrt_fast_pushf();
void previrt_fast_popf();
[[noreturn]] void previrt_on_site();
[[noreturn]] void previrt_on_event();
}

static_assert(offsetof(Vcpu, gpr) == 0 && offsetof(Vcpu, rip) == 128 && offsetof(Vcpu, rflags) == 136,
              "entry.S reads the registers at these offsets");

namespace previrt::vmm::process {
namespace {

constexpr unsigned kIrqTimer = 0, kIrqCom1 = 4;
constexpr size_t kVmmStackSize = 256 * 1024;
constexpr size_t kSignalStackSize = 64 * 1024;
constexpr uint64_t kRetryNs = 50'000;  // a signal that came in a fast path is looked at again this soon

uint64_t now_ns() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000 + uint64_t(t.tv_nsec);
}

class MonotonicClock final : public devices::Clock {
public:
    uint64_t now_ns() const override { return process::now_ns(); }
};

enum class Reason : int { None, Trap };

struct Stats {
    std::map<std::string, uint64_t> sites, paravirt, traps, user, interrupts;
    uint64_t mirror_maps = 0, user_maps = 0;
};

// One run's state. The signal handlers and the entries from the guest reach it
// through `machine`: one guest per process.
struct Machine final : Platform {
    platforms::RunOptions options;
    Mode mode = Mode::Previrtualized;
    int memfd = -1;
    uint64_t ram_size = 0;
    GuestMemory memory;
    MonotonicClock clock;
    devices::Pic8259Pair pic{[](bool) {}};
    devices::Pit8254 pit{[this](bool level) { pic.set_irq(kIrqTimer, level); }, clock};
    devices::Uart16550 uart{[this](bool level) { pic.set_irq(kIrqCom1, level); },
                            [this](uint8_t byte) { serial_out(byte); }};
    devices::PciHost pci;
    std::unique_ptr<devices::CmosRtc> cmos;
    devices::ExitPort exit_port;
    devices::PortBus bus;
    std::set<uint16_t> unknown_ports;
    std::unique_ptr<UserSpace> user;
    RewriteResult sites;
    afterburner::InsnDecoder decoder;
    std::string serial;
    int serial_fd = 1;
    bool console_input = false;
    timer_t timer{};
    uint64_t deadline = UINT64_MAX;  // --timeout
    bool mirror_dirty = false;
    WorkingSets working_sets;         // pages guest user mode touched, by address space
    WorkingSets kernel_working_sets;  // user pages the guest kernel touched, by address space
    uint64_t last_user_fault = 0;
    unsigned repeated_user_faults = 0;
    Stats stats;
    sigjmp_buf done;
    int status = platforms::kExitGuestNoStatus;

    volatile sig_atomic_t user_running = 0;
    volatile sig_atomic_t reason = 0;
    volatile int trap_signal = 0, trap_code = 0;
    volatile uint64_t trap_address = 0;
    volatile uint64_t trap_syscall = 0;

    uint32_t port_read(uint16_t port, unsigned size) override {
        uint32_t v;
        if (!bus.read(port, size, v)) {
            v = 0xffffffff;
            if (unknown_ports.insert(port).second)
                std::cerr << fmt::format("previrt-process: read of unknown port {:#x}: all ones\n", port);
        }
        return v;
    }
    void port_write(uint16_t port, unsigned size, uint32_t value) override {
        if (!bus.write(port, size, value) && unknown_ports.insert(port).second)
            std::cerr << fmt::format("previrt-process: write to unknown port {:#x} ignored\n", port);
    }
    void flush_translations() override;
    void flush_translation(uint64_t va) override {
        va &= ~0xfffull;
        if (va < layout::kUserBase || va >= layout::kUserEnd) return;
        mmap(reinterpret_cast<void*>(va), 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
             -1, 0);
        if (user) user->unmap(va);
        working_sets.forget(previrt_vcpu.cr3 & kCr3AddressMask, va);
        kernel_working_sets.forget(previrt_vcpu.cr3 & kCr3AddressMask, va);
    }

    // The guest kernel's view of a user page, in this process.
    void mirror_map(uint64_t va, uint64_t pa, bool writable) {
        mmap(reinterpret_cast<void*>(va & ~0xfffull), 4096, PROT_READ | (writable ? PROT_WRITE : 0),
             MAP_SHARED | MAP_FIXED, memfd, off_t(pa & ~0xfffull));
        mirror_dirty = true;
        ++stats.mirror_maps;
    }

    void serial_out(uint8_t byte) {
        serial.push_back(static_cast<char>(byte));
        if (byte == '\n' || serial.size() >= 4096) flush_serial();
    }
    void flush_serial() {
        for (size_t at = 0; at < serial.size();) {
            ssize_t n = write(serial_fd, serial.data() + at, serial.size() - at);
            if (n <= 0) break;
            at += size_t(n);
        }
        serial.clear();
    }
};

Machine* machine;
Vcpu& vcpu = previrt_vcpu;

HotPage& hot_page() { return *hot(); }

bool in_guest(uint64_t rip) { return rip < layout::kVmmHoleBase; }
bool in_fast_path(uint64_t rip) {
    return (rip >= kThunkPage && rip < kThunkPage + 4096) ||
           (rip >= uint64_t(previrt_fast_begin) && rip < uint64_t(previrt_fast_end));
}
bool in_resume(uint64_t rip) {
    return rip >= uint64_t(&previrt_resume_guest) && rip <= uint64_t(previrt_resume_guest_end);
}

void set_host_gs_base(uint64_t base) { asm volatile("wrgsbase %0" : : "r"(base) : "memory"); }

std::string register_dump() {
    return fmt::format(
        "  rip {:016x}  rsp {:016x}  rflags {:016x}  cpl {}\n"
        "  rax {:016x}  rbx {:016x}  rcx {:016x}  rdx {:016x}\n"
        "  rsi {:016x}  rdi {:016x}  rbp {:016x}  r8  {:016x}\n"
        "  cr0 {:016x}  cr2 {:016x}  cr3 {:016x}  cr4 {:016x}  efer {:x}\n"
        "  cs {:04x}  ss {:04x}  idt {:x}/{:x}  gdt {:x}/{:x}  tr {:x}\n",
        vcpu.rip, vcpu.gpr[kRsp], vcpu.rflags, vcpu.cpl, vcpu.gpr[kRax], vcpu.gpr[kRbx], vcpu.gpr[kRcx],
        vcpu.gpr[kRdx], vcpu.gpr[kRsi], vcpu.gpr[kRdi], vcpu.gpr[kRbp], vcpu.gpr[kR8], vcpu.cr0, vcpu.cr2, vcpu.cr3,
        vcpu.cr4, vcpu.efer, vcpu.sreg[kCs], vcpu.sreg[kSs], vcpu.idtr.base, vcpu.idtr.limit, vcpu.gdtr.base,
        vcpu.gdtr.limit, vcpu.tr);
}

[[noreturn]] void finish(int status, const std::string& message = {}) {
    machine->flush_serial();
    if (!message.empty()) std::cerr << "previrt-process: " << message << "\n";
    machine->status = status;
    siglongjmp(machine->done, 1);
}

[[noreturn]] void fatal(int status, const std::string& message) { finish(status, message + "\n" + register_dump()); }

// ---- events: timer, console, timeout --------------------------------------

// When the host timer fires next (UINT64_MAX: not armed), so that it is
// re-armed only when that changes.
volatile uint64_t armed_at = UINT64_MAX;

void arm_timer(uint64_t at) {
    armed_at = at;
    itimerspec t{};
    if (at != UINT64_MAX) {
        t.it_value.tv_sec = time_t(at / 1'000'000'000);
        t.it_value.tv_nsec = long(at % 1'000'000'000);
        if (!t.it_value.tv_sec && !t.it_value.tv_nsec) t.it_value.tv_nsec = 1;
    }
    timer_settime(machine->timer, TIMER_ABSTIME, &t, nullptr);
}

void sync_in() { vcpu.rflags = hot_page().interrupt_flag ? vcpu.rflags | kFlagIf : vcpu.rflags & ~kFlagIf; }

void deliver_event(Event e) {
    if (deliver(machine->memory, vcpu, e) == Delivered::TripleFault)
        fatal(platforms::kExitGuestNoStatus, fmt::format("triple fault delivering vector {}", e.vector));
}

void poll_console() {
    if (!machine->console_input) return;
    while (machine->uart.can_receive()) {
        pollfd p{0, POLLIN, 0};
        if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return;
        uint8_t c;
        if (read(0, &c, 1) != 1) {
            machine->console_input = false;
            return;
        }
        machine->uart.receive(c);
    }
}

// Brings the devices up to date and delivers an interrupt the PIC has for
// the vCPU, if its IF lets it in.
// Arms the host timer for the PIT's next tick (or the timeout), unless it is
// armed for that already.
void rearm_timer(uint64_t now) {
    uint64_t next = machine->pit.next_event_ns();
    if (machine->deadline < next) next = machine->deadline;
    if (next != armed_at || next <= now) arm_timer(next);
}

// Delivers the interrupt the PIC has for the vCPU, if its IF lets it in.
bool deliver_interrupt() {
    if (!vcpu.interrupts_enabled() || !machine->pic.pending()) return false;
    uint8_t vector = machine->pic.acknowledge();
    ++machine->stats.interrupts[fmt::format("vector {:#x}", vector)];
    deliver_event(Event::interrupt(vector));
    return true;
}

// Brings the devices up to the host's time and input (after a host event, or
// before waiting), re-arms the host timer for the PIT's next tick, and
// delivers what became pending.
bool service_events(bool deliver_now = true) {
    hot_page().pending = 0;
    uint64_t now = now_ns();
    if (now >= machine->deadline)
        fatal(platforms::kExitTimeout, fmt::format("the guest ran past --timeout {}s; stopped", machine->options.timeout_seconds));
    machine->pit.update();
    poll_console();
    rearm_timer(now);
    return deliver_now && deliver_interrupt();
}

void check_exit_port() {
    if (auto s = machine->exit_port.status()) finish(*s);
}

// ---- guest user mode ---------------------------------------------------------

// A CR3 load (or a change of paging bits): both mirrors are stale. The user
// process gets the new address space's remembered pages back in the same
// batch as the unmapping.
void Machine::flush_translations() {
    if (mirror_dirty)
        mmap(reinterpret_cast<void*>(layout::kUserBase), layout::kUserEnd - layout::kUserBase, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    mirror_dirty = false;
    for (uint64_t va : kernel_working_sets.pages(vcpu.cr3 & kCr3AddressMask)) {
        Translation t = translate(memory, vcpu, va, Access::Read, false);
        if (t.ok) mirror_map(va, t.pa, t.writable);
    }
    last_user_fault = 0;
    if (!user) return;
    user->unmap_all();
    for (uint64_t va : working_sets.pages(vcpu.cr3 & kCr3AddressMask)) {
        Translation t = translate(memory, vcpu, va, Access::Read, true);
        if (t.ok) user->map(va, t.pa & ~0xfffull, t.writable, t.executable);
    }
}

bool decode_at(uint64_t rip, DecodedInstruction& d, bool& fetch_faulted) {
    uint8_t bytes[15];
    size_t n = 0;
    fetch_faulted = false;
    for (; n < sizeof bytes; ++n) {
        VirtualFault f;
        if (!read_virtual(machine->memory, vcpu, rip + n, bytes + n, 1, false, f)) break;
    }
    if (n == 0) {
        fetch_faulted = true;
        return false;
    }
    auto r = machine->decoder.decode({bytes, n});
    if (!r) {
        fetch_faulted = n < sizeof bytes;
        return false;
    }
    std::memcpy(&d.insn, &r->insn, sizeof d.insn);
    std::memcpy(d.operands, r->operands, sizeof d.operands);
    return true;
}

Access access_of_fault(uint64_t address) {
    DecodedInstruction d;
    bool fetch_faulted;
    if (!decode_at(vcpu.rip, d, fetch_faulted)) return Access::Fetch;
    if (address >= vcpu.rip && address < vcpu.rip + d.insn.length) return Access::Fetch;
    afterburner::DecodedInsn a;
    std::memcpy(&a.insn, &d.insn, sizeof a.insn);
    std::memcpy(a.operands, d.operands, sizeof a.operands);
    bool stack_write = d.insn.mnemonic == ZYDIS_MNEMONIC_PUSH || d.insn.mnemonic == ZYDIS_MNEMONIC_CALL;
    return afterburner::writes_memory(a) || stack_write ? Access::Write : Access::Read;
}

void user_page_fault(const UserEvent& ev) {
    Access access = access_of_fault(ev.address);
    Translation t = translate(machine->memory, vcpu, ev.address, access, true);
    if (!t.ok) {
        deliver_event(Event::page_fault(ev.address, t.error_code));
        return;
    }
    uint64_t page = ev.address & ~0xfffull;
    if (page < layout::kUserBase || page >= layout::kUserEnd)
        fatal(platforms::kExitPlatform,
              fmt::format("the guest's page tables give user mode {:#x}, outside the user range [{:#x}, {:#x}) "
                          "this hypervisor can map", ev.address, layout::kUserBase, layout::kUserEnd));
    // The same page at the same frame, faulting again with nothing in
    // between: the host refuses what the guest's tables allow.
    uint64_t key = page ^ (t.pa & ~0xfffull) << 1;
    if (key == machine->last_user_fault && ++machine->repeated_user_faults > 4)
        fatal(platforms::kExitPlatform, fmt::format("guest user access to {:#x} keeps faulting in the host", ev.address));
    if (key != machine->last_user_fault) machine->repeated_user_faults = 0;
    machine->last_user_fault = key;
    ++machine->stats.user_maps;
    machine->user->map(page, t.pa & ~0xfffull, t.writable, t.executable);
    machine->working_sets.touched(vcpu.cr3 & kCr3AddressMask, page);
}

void run_user_once() {
    if (hot_page().pending) service_events();
    if (vcpu.cpl != 3) return;
    UserRegisters r{};
    const uint64_t* g = vcpu.gpr;
    r = {g[kRax], g[kRbx], g[kRcx], g[kRdx], g[kRsi], g[kRdi], g[kRbp], g[kRsp], g[kR8], g[kR9], g[kR10],
         g[kR11], g[kR12], g[kR13], g[kR14], g[kR15], vcpu.rip, (vcpu.rflags & kFlagsUser) | kFlagIf | kFlagReserved1,
         vcpu.fs_base, vcpu.gs_base};
    machine->user_running = 1;
    if (hot_page().pending) machine->user->interrupt();
    UserEvent ev = machine->user->run(r);
    machine->user_running = 0;
    uint64_t* w = vcpu.gpr;
    w[kRax] = r.rax, w[kRbx] = r.rbx, w[kRcx] = r.rcx, w[kRdx] = r.rdx, w[kRsi] = r.rsi, w[kRdi] = r.rdi;
    w[kRbp] = r.rbp, w[kRsp] = r.rsp, w[kR8] = r.r8, w[kR9] = r.r9, w[kR10] = r.r10, w[kR11] = r.r11;
    w[kR12] = r.r12, w[kR13] = r.r13, w[kR14] = r.r14, w[kR15] = r.r15;
    vcpu.rip = r.rip;
    vcpu.rflags = (r.rflags & kFlagsUser) | kFlagIf | kFlagReserved1;
    vcpu.fs_base = r.fs_base;
    vcpu.gs_base = r.gs_base;

    if (ev.kind != UserStop::PageFault) machine->last_user_fault = 0;
    switch (ev.kind) {
    case UserStop::SystemCall:
        ++machine->stats.user["system call"];
        if (ev.insn == 0x050f) {
            Transition t = do_syscall(vcpu);
            if (!t.ok) deliver_event(t.fault);
        } else if (ev.insn == 0x80cd) {
            Event e = Event::interrupt(0x80);
            e.software = true;
            deliver_event(e);
        } else {
            vcpu.rip -= 2;
            deliver_event(Event::exception(kVectorInvalidOpcode));
        }
        break;
    case UserStop::PageFault:
        ++machine->stats.user["page fault"];
        user_page_fault(ev);
        break;
    case UserStop::Exception: {
        ++machine->stats.user[fmt::format("exception {}", ev.vector)];
        DecodedInstruction d;
        bool ff;
        if (ev.vector == kVectorGeneralProtection && decode_at(vcpu.rip, d, ff) && d.insn.mnemonic == ZYDIS_MNEMONIC_INT) {
            Event e = Event::interrupt(static_cast<uint8_t>(d.operands[0].imm.value.u));
            e.software = true;
            vcpu.rip += d.insn.length;
            deliver_event(e);
            break;
        }
        deliver_event(pushes_error_code(ev.vector) ? Event::exception(ev.vector, 0) : Event::exception(ev.vector));
        break;
    }
    case UserStop::Interrupted:
        ++machine->stats.user["interrupted"];
        service_events();
        break;
    case UserStop::Died: fatal(platforms::kExitPlatform, "guest user mode's host process died: " + ev.detail);
    }
}

// ---- guest kernel mode --------------------------------------------------------

[[noreturn]] void continue_guest() {
    for (;;) {
        if (vcpu.cpl == 3) {
            run_user_once();
            continue;
        }
        hot_page().interrupt_flag = vcpu.interrupts_enabled();
        set_host_gs_base(vcpu.gs_base);
        previrt_resume_guest();
    }
}

// hlt: waits for the host's next event (the PIT's next tick, console input)
// until the PIC has an interrupt to deliver.
void idle() {
    for (;;) {
        if (service_events()) return;
        if (!vcpu.interrupts_enabled())
            fatal(platforms::kExitGuestNoStatus, "the guest halted with interrupts disabled: nothing can wake it");
        machine->flush_serial();  // the console is batched by line, and while the guest waits
        uint64_t next = machine->pit.next_event_ns();
        if (machine->deadline < next) next = machine->deadline;
        uint64_t now = now_ns();
        int timeout_ms = next == UINT64_MAX ? 1000 : next <= now ? 0 : int((next - now + 999'999) / 1'000'000);
        pollfd p{0, POLLIN, 0};
        poll(&p, machine->console_input ? 1 : 0, timeout_ms);
    }
}

// After an instruction was emulated at a site or on a trap.
void complete(const Emulation& e, uint64_t natural_next, uint64_t resume_at, const char* what) {
    switch (e.outcome) {
    case Outcome::Done:
        if (vcpu.rip == natural_next) vcpu.rip = resume_at;
        check_exit_port();
        if (!e.interrupt_shadow) {
            // A device access can raise a line (an EOI unmasks the next
            // request, a UART write empties THR): the PIC is looked at every
            // time, the host's time and input only after a host event.
            if (hot_page().pending) {
                service_events();
            } else {
                rearm_timer(now_ns());  // the access may have programmed the PIT
                deliver_interrupt();
            }
        } else {
            // The instruction after sti runs first; it is usually hlt, which
            // looks at the events anyway. Otherwise the retry timer does.
            hot_page().pending = 0;
            arm_timer(now_ns() + kRetryNs);
        }
        return;
    case Outcome::Fault:
        deliver_event(e.fault);
        return;
    case Outcome::Halt:
        if (vcpu.rip == natural_next) vcpu.rip = resume_at;
        idle();
        return;
    case Outcome::Unsupported:
        fatal(platforms::kExitPlatform, fmt::format("the in-place VMM cannot emulate {} at {:#x}", what, vcpu.rip));
    }
}

std::string text_of(const DecodedInstruction& d, uint64_t at) {
    afterburner::DecodedInsn a;
    std::memcpy(&a.insn, &d.insn, sizeof a.insn);
    std::memcpy(a.operands, d.operands, sizeof a.operands);
    return "'" + machine->decoder.format(a, at) + "'";
}

void kernel_page_fault(uint64_t address) {
    Access access = access_of_fault(address);
    Translation t = translate(machine->memory, vcpu, address, access, false);
    if (t.ok && address >= layout::kUserBase && address < layout::kUserEnd) {
        machine->mirror_map(address, t.pa, t.writable);
        machine->kernel_working_sets.touched(vcpu.cr3 & kCr3AddressMask, address);
        return;  // retried at the same rip
    }
    deliver_event(Event::page_fault(address, t.ok ? kPfPresent | (access == Access::Write ? kPfWrite : 0) : t.error_code));
}

void handle_trap() {
    int sig = machine->trap_signal, code = machine->trap_code;
    uint64_t address = machine->trap_address;
    machine->reason = int(Reason::None);
    ++machine->stats.traps[sig == SIGSEGV ? (code == SI_KERNEL ? "#GP" : "page fault") : strsignal(sig)];
    if (sig == SIGSEGV && (code == SEGV_MAPERR || code == SEGV_ACCERR)) {
        kernel_page_fault(address);
        return;
    }
    if (sig == SIGSYS) {
        // A `syscall` in guest code, stopped by the host filter: the guest's
        // own system call instruction, at CPL 0 as much as at CPL 3.
        vcpu.gpr[kRax] = machine->trap_syscall;
        Transition t = do_syscall(vcpu);
        if (!t.ok) deliver_event(t.fault);
        return;
    }
    if (sig == SIGFPE) return deliver_event(Event::exception(kVectorDivide));
    if (sig == SIGTRAP) return deliver_event(Event::exception(kVectorBreakpoint));
    DecodedInstruction d;
    bool fetch_faulted;
    if (!decode_at(vcpu.rip, d, fetch_faulted))
        return deliver_event(sig == SIGILL ? Event::exception(kVectorInvalidOpcode) : Event::exception(kVectorGeneralProtection, 0));
    uint64_t at = vcpu.rip;
    Emulation e = emulate(machine->memory, vcpu, *machine, d);
    if (e.outcome == Outcome::Unsupported && sig == SIGILL) return deliver_event(Event::exception(kVectorInvalidOpcode));
    complete(e, at + d.insn.length, at + d.insn.length, text_of(d, at).c_str());
}

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

[[noreturn]] void vmm_fault(int sig, uint64_t rip, uint64_t address) {
    char buf[160];
    snprintf(buf, sizeof buf, "previrt-process: the in-place VMM itself faulted (signal %d at %#lx, address %#lx)\n",
             sig, static_cast<unsigned long>(rip), static_cast<unsigned long>(address));
    write_message(buf);
    _exit(platforms::kExitPlatform);
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
    hot_page().pending = 1;
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
    if (!in_guest(rip)) vmm_fault(sig, rip, reinterpret_cast<uint64_t>(info->si_addr));
    capture(uc);
    machine->trap_signal = sig;
    machine->trap_code = info->si_code;
    machine->trap_address = reinterpret_cast<uint64_t>(info->si_addr);
    if (sig == SIGSYS) machine->trap_syscall = uint64_t(info->si_syscall);
    machine->reason = int(Reason::Trap);
    redirect(uc);
}

struct SavedSignals {
    struct sigaction old[NSIG];
    std::vector<int> signals;
    ~SavedSignals() {
        for (int s : signals) sigaction(s, &old[s], nullptr);
    }
};

void install_signals(SavedSignals& saved, void* altstack) {
    stack_t ss{};
    ss.ss_sp = altstack;
    ss.ss_size = kSignalStackSize;
    sigaltstack(&ss, nullptr);
    struct sigaction sa{};
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGALRM, SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS, SIGSYS}) sigaddset(&sa.sa_mask, s);
    sa.sa_sigaction = on_async_signal;
    saved.signals.push_back(SIGALRM);
    sigaction(SIGALRM, &sa, &saved.old[SIGALRM]);
    sa.sa_sigaction = on_trap_signal;
    for (int s : {SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS, SIGSYS}) {
        saved.signals.push_back(s);
        sigaction(s, &sa, &saved.old[s]);
    }
}

// ---- setup -----------------------------------------------------------------------

void write_thunk(Thunk t, void (*target)()) {
    // jmp *8(%rip): FF 25 disp32 (Intel SDM Vol. 2A, JMP: FF /4), the target in the slot after it.
    auto* p = reinterpret_cast<uint8_t*>(thunk_address(t));
    p[0] = 0xff;
    p[1] = 0x25;
    int32_t disp = 2;
    std::memcpy(p + 2, &disp, 4);
    p[6] = p[7] = 0xcc;
    uint64_t a = reinterpret_cast<uint64_t>(target);
    std::memcpy(p + 8, &a, 8);
}

}  // namespace

int run(const platforms::RunOptions& o, Mode mode) {
    if (!(getauxval(AT_HWCAP2) & 2)) {  // HWCAP2_FSGSBASE
        std::cerr << "previrt-process: this host's kernel does not let user space write the GS base (FSGSBASE)\n";
        return platforms::kExitPlatform;
    }
    elf::File image;
    try {
        image = elf::File::load(o.image);
    } catch (const std::exception& e) {
        std::cerr << "previrt-process: " << e.what() << "\n";
        return platforms::kExitBadImage;
    }

    // The guest's addresses, from user space to the end of the hole, must be
    // free in this process; reserve them all first.
    void* reserved = mmap(reinterpret_cast<void*>(layout::kUserBase), layout::kVmmHoleEnd - layout::kUserBase, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (reserved == MAP_FAILED) {
        std::cerr << "previrt-process: this process already uses the guest's address range "
                  << fmt::format("[{:#x}, {:#x})\n", layout::kUserBase, layout::kVmmHoleEnd);
        return platforms::kExitPlatform;
    }
    struct Unreserve {
        ~Unreserve() { munmap(reinterpret_cast<void*>(layout::kUserBase), layout::kVmmHoleEnd - layout::kUserBase); }
    } unreserve;

    auto m = std::make_unique<Machine>();
    machine = m.get();
    m->options = o;
    m->mode = mode;
    m->ram_size = o.memory_mib << 20;
    m->memfd = memfd_create("previrt-guest-ram", MFD_CLOEXEC);
    if (m->memfd < 0 || ftruncate(m->memfd, off_t(m->ram_size)) != 0) {
        std::cerr << "previrt-process: cannot create guest memory: " << strerror(errno) << "\n";
        return platforms::kExitPlatform;
    }
    auto* ram = static_cast<uint8_t*>(mmap(reinterpret_cast<void*>(layout::kKernelBase), m->ram_size,
                                           PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_FIXED, m->memfd, 0));
    if (ram == MAP_FAILED) {
        std::cerr << "previrt-process: cannot map guest memory: " << strerror(errno) << "\n";
        return platforms::kExitPlatform;
    }
    m->memory = GuestMemory(ram, m->ram_size);
    loader::BootState boot;
    uint32_t paravirt = 0;
    try {
        paravirt = loader::paravirt_version(image);
        if (paravirt && paravirt != pv::kParavirtVersion)
            throw std::runtime_error(fmt::format("para-virtualized for interface version {}; this hypervisor has version {}",
                                                 paravirt, pv::kParavirtVersion));
        boot = loader::load_guest(image, {ram, m->ram_size}, o.command_line);
        m->sites = rewrite_sites(image, ram, layout::kKernelBase, m->ram_size, mode == Mode::Previrtualized);
    } catch (const std::exception& e) {
        std::cerr << "previrt-process: " << o.image << ": " << e.what() << "\n";
        close(m->memfd);
        return platforms::kExitBadImage;
    }
    if (paravirt)
        std::cerr << fmt::format("previrt-process: para-virtualized guest (interface version {}): it calls the "
                                 "hypervisor directly\n", paravirt);
    else if (mode == Mode::Previrtualized && m->sites.total == 0)
        std::cerr << "previrt-process: warning: " << o.image
                  << " has no site records (not built through the afterburner); it runs pure\n";
    else
        std::cerr << (mode == Mode::Pure ? "previrt-process: pure virtualization: every privileged instruction traps\n"
                                         : fmt::format("previrt-process: pre-virtualized: {} of {} sites rewritten\n",
                                                       m->sites.rewritten, m->sites.total));
    if (o.stats) std::cerr << m->sites.summary;

    mmap(reinterpret_cast<void*>(kThunkPage), kHoleMapped, PROT_READ | PROT_WRITE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    write_thunk(Thunk::Generic, previrt_site_entry);
    write_thunk(Thunk::Sti, previrt_fast_sti);
    write_thunk(Thunk::Pushf, previrt_fast_pushf);
    write_thunk(Thunk::Popf, previrt_fast_popf);
    write_paravirt_entries(previrt_pv_entry);
    mprotect(reinterpret_cast<void*>(kThunkPage), 4096, PROT_READ | PROT_EXEC);
    hot_page() = {};

    std::string error;
    m->user = UserSpace::start(m->memfd, m->ram_size, layout::kUserBase, layout::kUserEnd, error);
    if (!m->user) {
        std::cerr << "previrt-process: cannot start the host process for guest user mode: " << error << "\n";
        return platforms::kExitPlatform;
    }

    if (o.serial != "stdio") {
        m->serial_fd = open(o.serial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (m->serial_fd < 0) {
            std::cerr << "previrt-process: cannot write " << o.serial << "\n";
            return platforms::kExitPlatform;
        }
    }
    m->console_input = o.serial == "stdio" || o.console_input;
    m->cmos = std::make_unique<devices::CmosRtc>(m->ram_size);
    m->bus.add(0x20, 2, m->pic, "pic-master");
    m->bus.add(0xa0, 2, m->pic, "pic-slave");
    m->bus.add(0x40, 4, m->pit, "pit");
    m->bus.add(0x61, 1, m->pit, "port-b");
    m->bus.add(0x3f8, 8, m->uart, "com1");
    m->bus.add(0xcf8, 8, m->pci, "pci");
    m->bus.add(0x70, 2, *m->cmos, "cmos");
    m->bus.add(layout::kExitPort, 4, m->exit_port, "exit");
    if (o.timeout_seconds) m->deadline = now_ns() + uint64_t(o.timeout_seconds) * 1'000'000'000;

    sigevent sev{};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGALRM;
    sev._sigev_un._tid = gettid();
    timer_create(CLOCK_MONOTONIC, &sev, &m->timer);

    asm volatile("rdfsbase %0" : "=r"(previrt_host_fs_base));
    auto vmm_stack = std::make_unique<uint8_t[]>(kVmmStackSize);
    previrt_vmm_stack_top = (reinterpret_cast<uint64_t>(vmm_stack.get()) + kVmmStackSize) & ~0xfull;
    auto altstack = std::make_unique<uint8_t[]>(kSignalStackSize);

    vcpu = Vcpu{};
    vcpu.rip = boot.entry;
    vcpu.gpr[kRdi] = boot.rdi;
    vcpu.gpr[kRsi] = boot.rsi;
    vcpu.gpr[kRsp] = boot.rsp;
    vcpu.cr3 = boot.cr3;
    vcpu.cr0 = kCr0Pe | (1u << 1) | (1u << 4) | (1u << 5) | kCr0Wp | kCr0Pg;  // PE MP ET NE WP PG
    vcpu.cr4 = kCr4Pae;
    vcpu.efer = kEferLme | kEferLma;
    vcpu.sreg[kCs] = 0x08;
    vcpu.sreg[kSs] = vcpu.sreg[kDs] = vcpu.sreg[kEs] = 0x10;

    int result;
    {
        SavedSignals saved;
        install_signals(saved, altstack.get());
        if (sigsetjmp(m->done, 1) == 0) {
            std::string filter_error;
            if (!install_host_filter(filter_error)) finish(platforms::kExitPlatform, filter_error);
            service_events(false);
            continue_guest();
        }
        timer_delete(m->timer);
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, nullptr);
        result = m->status;
    }
    m->flush_serial();
    if (o.stats) {
        auto print = [](const char* title, const std::map<std::string, uint64_t>& counts) {
            for (const auto& [k, n] : counts) std::cerr << fmt::format("  {:<12} {:<24} {:>10}\n", title, k, n);
        };
        std::cerr << "previrt-process: VMM entries by kind\n";
        print("site", m->stats.sites);
        print("paravirt", m->stats.paravirt);
        print("trap", m->stats.traps);
        print("user", m->stats.user);
        print("interrupt", m->stats.interrupts);
        std::cerr << fmt::format("  {:<12} {:<24} {:>10}\n  {:<12} {:<24} {:>10}\n", "memory", "kernel mirror maps",
                                 m->stats.mirror_maps, "memory", "user maps", m->stats.user_maps);
    }
    m->user.reset();
    if (m->serial_fd != 1) close(m->serial_fd);
    munmap(ram, m->ram_size);
    close(m->memfd);
    machine = nullptr;
    return result;
}

}  // namespace previrt::vmm::process

// ---- the entries, called from entry.S on the VMM stack ------------------------------

using namespace previrt::vmm;
using namespace previrt::vmm::process;

extern "C" [[noreturn]] void previrt_on_site() {
    uint64_t at = vcpu.rip - 5;
    auto it = machine->sites.sites.find(at);
    if (it == machine->sites.sites.end())
        fatal(previrt::platforms::kExitPlatform, fmt::format("the guest called the in-place VMM from {:#x}, which is no rewritten site", at));
    const RewrittenSite& s = it->second;
    ++machine->stats.sites[std::string(previrt::afterburner::kind_name(s.kind))];
    sync_in();
    vcpu.rip = at;
    Emulation e = emulate(machine->memory, vcpu, *machine, s.insn);
    if (s.sti_before_hlt) e.interrupt_shadow = true;
    complete(e, at + s.insn.insn.length, at + s.site_length, "a site");
    continue_guest();
}

extern "C" [[noreturn]] void previrt_on_event() {
    sync_in();
    if (machine->reason == int(Reason::Trap)) handle_trap();
    else service_events();
    continue_guest();
}

extern "C" [[noreturn]] void previrt_on_pv() {
    unsigned op = unsigned(previrt_pv_op);
    ++machine->stats.paravirt[paravirt_op_name(op)];
    sync_in();
    uint64_t ret = vcpu.rip;
    ParavirtCall c = prepare_paravirt_call(vcpu, op, machine->memory);
    if (!c.done) {
        Emulation e;
        if (c.insn) e = emulate(machine->memory, vcpu, *machine, *c.insn);
        if (!c.insn || e.outcome == Outcome::Fault || e.outcome == Outcome::Unsupported) {
            std::memcpy(vcpu.gpr, c.saved, sizeof c.saved);
            vcpu.rip = ret;
            deliver_event(c.insn && e.outcome == Outcome::Fault ? e.fault : Event::exception(kVectorInvalidOpcode));
        } else {
            finish_paravirt_call(vcpu, c);
            complete(e, ret + c.insn->insn.length, ret, paravirt_op_name(op));
        }
    }
    continue_guest();
}
