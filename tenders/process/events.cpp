// Host events: the PIT's timer, console input, --timeout; the end of a run.
#include "vmm/process/machine.h"

#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>

#include <iostream>

namespace previrt::vmm::process {

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

[[noreturn]] void finish(int status, const std::string& message) {
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
    devices::arm_timer_at(machine->timer, at);
}

void sync_in() { vcpu.rflags = hot_page().interrupt_flag ? vcpu.rflags | kFlagIf : vcpu.rflags & ~kFlagIf; }

void deliver_event(Event e) {
    if (deliver(machine->memory, vcpu, e) == Delivered::TripleFault)
        fatal(tenders::kExitGuestNoStatus, fmt::format("triple fault delivering vector {}", e.vector));
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

// The host's next event for the guest: the PIT's next tick, or --timeout.
uint64_t next_host_event() {
    uint64_t next = machine->pit.next_event_ns();
    return machine->deadline < next ? machine->deadline : next;
}

// Arms the host timer for the host's next event, unless it is armed for that
// already. This runs after every emulated instruction, so the clock is read
// only when the timer is armed for that time already (it may have fired).
void rearm_timer() {
    uint64_t next = next_host_event();
    if (next != armed_at || next <= now_ns()) arm_timer(next);
}

// Delivers the interrupt the PIC has for the vCPU, if its IF lets it in.
bool deliver_interrupt() {
    if (!vcpu.interrupts_enabled() || !machine->pic.pending()) return false;
    uint8_t vector = machine->pic.acknowledge();
    ++machine->stats.interrupts[vector];
    deliver_event(Event::interrupt(vector));
    return true;
}

// Brings the devices up to the host's time and input (after a host event, or
// before waiting), re-arms the host timer for the PIT's next tick, and
// delivers what became pending.
bool service_events(bool deliver_now) {
    set_pending(false);
    uint64_t now = now_ns();
    if (now >= machine->deadline)
        fatal(tenders::kExitTimeout, fmt::format("the guest ran past --timeout {}s; stopped", machine->options.timeout_seconds));
    machine->pit.update();
    poll_console();
    rearm_timer();
    return deliver_now && deliver_interrupt();
}

void check_exit_port() {
    if (auto s = machine->exit_port.status()) finish(*s);
}

// hlt: waits for the host's next event (the PIT's next tick, console input)
// until the PIC has an interrupt to deliver.
void idle() {
    for (;;) {
        if (service_events()) return;
        if (!vcpu.interrupts_enabled())
            fatal(tenders::kExitGuestNoStatus, "the guest halted with interrupts disabled: nothing can wake it");
        machine->flush_serial();  // the console is batched by line, and while the guest waits
        uint64_t next = next_host_event();
        uint64_t now = now_ns();
        int timeout_ms = next == UINT64_MAX ? 1000 : next <= now ? 0 : int((next - now + 999'999) / 1'000'000);
        pollfd p{0, POLLIN, 0};
        poll(&p, machine->console_input ? 1 : 0, timeout_ms);
    }
}

}  // namespace previrt::vmm::process
