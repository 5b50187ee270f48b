// Guest kernel mode: the entries from the guest (a rewritten site, a
// para-virtual call, a trap, a host event) and the way back into it.
#include "vmm/process/machine.h"

#include <signal.h>
#include <sys/mman.h>

#include <fmt/format.h>

#include <cstring>

#include "vmm/process/paravirt.h"

namespace previrt::vmm::process {

namespace {
void set_host_gs_base(uint64_t base) { asm volatile("wrgsbase %0" : : "r"(base) : "memory"); }
}  // namespace

// ---- guest kernel mode --------------------------------------------------------

// One line of --trace-exits: "<rip> <kind> <detail>", as previrt-vmm writes
// them. Traps only: a rewritten site costs a call, not a trap, and is not one.
void trace_trap(uint64_t rip, const char* kind, const std::string& detail) {
    if (machine->trace) std::fprintf(machine->trace.get(), "%#llx %s %s\n", static_cast<unsigned long long>(rip), kind, detail.c_str());
}

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
                rearm_timer();  // the access may have programmed the PIT
                deliver_interrupt();
            }
        } else {
            // The instruction after sti runs first; it is usually hlt, which
            // looks at the events anyway. Otherwise the retry timer does.
            set_pending(false);
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
        fatal(tenders::kExitPlatform, fmt::format("the in-place VMM cannot emulate {} at {:#x}", what, vcpu.rip));
    }
}

std::string text_of(const DecodedInstruction& d, uint64_t at) {
    return "'" + machine->decoder.format(d, at) + "'";
}

// A guest kernel access to device memory (its tables map a physical address
// beyond RAM): a `mov` load or store. No device of this platform has
// registers there yet, so a read gives all ones and a write is dropped, each
// reported once per address, as previrt-vmm does.
bool device_access(uint64_t address, uint64_t pa) {
    DecodedInstruction d;
    bool fetch_faulted;
    if (!decode_at(vcpu.rip, d, fetch_faulted) || d.insn.mnemonic != ZYDIS_MNEMONIC_MOV) return false;
    const ZydisDecodedOperand& dst = d.operands[0];
    const ZydisDecodedOperand& src = d.operands[1];
    bool write = dst.type == ZYDIS_OPERAND_TYPE_MEMORY;
    GprOperand r;
    if (!write && (src.type != ZYDIS_OPERAND_TYPE_MEMORY || !gpr_of(dst.reg.value, r))) return false;
    if (!write) write_gpr(vcpu, r, ~0ull);
    trace_trap(vcpu.rip, "mmio", fmt::format("{:#x} {} {}", pa, write ? "write" : "read", (write ? src : dst).size / 8));
    if (machine->unknown_device_memory.insert(pa).second)
        std::cerr << fmt::format("previrt-process: {} of unknown device memory at {:#x} (guest {:#x}){}\n",
                                 write ? "write" : "read", pa, address, write ? " ignored" : ": all ones");
    vcpu.rip += d.insn.length;
    return true;
}

void kernel_page_fault(uint64_t address) {
    Access access = access_of_fault(address);
    Translation t = translate(machine->memory, vcpu, address, access, false);
    if (t.device && device_access(address, t.pa)) {
        ++machine->stats.traps["device memory"];
        return;
    }
    ++machine->stats.traps["page fault"];
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
    if (sig == SIGSEGV && (code == SEGV_MAPERR || code == SEGV_ACCERR)) {
        kernel_page_fault(address);
        return;
    }
    if (sig == SIGSYS) {
        ++machine->stats.traps["syscall in guest kernel code"];
        // A `syscall` in guest code, stopped by the host filter: the guest's
        // own system call instruction, at CPL 0 as much as at CPL 3.
        vcpu.gpr[kRax] = machine->trap_syscall;
        Transition t = do_syscall(vcpu);
        if (!t.ok) deliver_event(t.fault);
        return;
    }
    ++machine->stats.traps[sig == SIGSEGV ? "#GP" : strsignal(sig)];
    if (sig == SIGFPE) return deliver_event(Event::exception(kVectorDivide));
    if (sig == SIGTRAP) return deliver_event(Event::exception(kVectorBreakpoint));
    DecodedInstruction d;
    bool fetch_faulted;
    if (!decode_at(vcpu.rip, d, fetch_faulted))
        return deliver_event(sig == SIGILL ? Event::exception(kVectorInvalidOpcode) : Event::exception(kVectorGeneralProtection, 0));
    uint64_t at = vcpu.rip;
    bool io = d.insn.mnemonic == ZYDIS_MNEMONIC_IN || d.insn.mnemonic == ZYDIS_MNEMONIC_OUT;
    trace_trap(at, io ? "io" : "trap", text_of(d, at));
    Emulation e = emulate(machine->memory, vcpu, *machine, d);
    if (e.outcome == Outcome::Unsupported && sig == SIGILL) return deliver_event(Event::exception(kVectorInvalidOpcode));
    complete(e, at + d.insn.length, at + d.insn.length, text_of(d, at).c_str());
}

}  // namespace previrt::vmm::process

// ---- the entries, called from entry.S on the VMM stack ------------------------------

using namespace previrt::vmm;
using namespace previrt::vmm::process;

extern "C" [[noreturn]] void previrt_on_site() {
    uint64_t at = vcpu.rip - 5;
    auto it = machine->sites.sites.find(at);
    if (it == machine->sites.sites.end())
        fatal(previrt::tenders::kExitPlatform, fmt::format("the guest called the in-place VMM from {:#x}, which is no rewritten site", at));
    const RewrittenSite& s = it->second;
    ++machine->stats.sites[s.kind];
    sync_in();
    vcpu.rip = at;
    Emulation e = emulate(machine->memory, vcpu, *machine, s.insn);
    if (s.then_halt && e.outcome == Outcome::Done && vcpu.rip == at + s.insn.insn.length) {
        // `sti; hlt`: the hlt in the sti's shadow, with nothing delivered
        // in between, waits for the event that may already be pending.
        ++machine->stats.sites[static_cast<uint8_t>(previrt::abi::SiteKind::Hlt)];
        uint64_t hlt_at = vcpu.rip;
        e = emulate(machine->memory, vcpu, *machine, s.halt);
        complete(e, hlt_at + s.halt.insn.length, at + s.site_length, "a site");
        continue_guest();
    }
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
    if (op < previrt::pv::kOpCount) ++machine->stats.paravirt[op];
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

extern "C" [[noreturn]] void previrt_on_pending() {
    sync_in();
    auto it = machine->sites.sites.find(vcpu.rip);
    auto sti = machine->sites.sti_returns.find(vcpu.rip);
    if ((it != machine->sites.sites.end() && it->second.kind == static_cast<uint8_t>(previrt::abi::SiteKind::Hlt)) ||
        (sti != machine->sites.sti_returns.end() && sti->second)) {
        // sti; hlt: the hlt runs first, and looks at the event itself (the
        // interrupt shadow), so that the wake-up is not spent before it waits.
        set_pending(false);
        arm_timer(now_ns() + kRetryNs);
    } else {
        service_events();
    }
    continue_guest();
}
