// Guest user mode: runs in the traced child (user_space.h); what stops it
// becomes the guest's system call, page fault, exception or interrupt.
#include "vmm/process/machine.h"

#include <sys/mman.h>

#include <fmt/format.h>


namespace previrt::vmm::process {

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
    // Up to 15 bytes, in at most two pieces: to the end of rip's page, and on
    // into the next if that one is there.
    uint8_t bytes[15];
    size_t first = 4096 - (rip & 0xfff), n = 0;
    if (first > sizeof bytes) first = sizeof bytes;
    VirtualFault f;
    fetch_faulted = false;
    if (!read_virtual(machine->memory, vcpu, rip, bytes, first, false, f)) {
        fetch_faulted = true;
        return false;
    }
    n = first;
    if (n < sizeof bytes && read_virtual(machine->memory, vcpu, rip + n, bytes + n, sizeof bytes - n, false, f))
        n = sizeof bytes;
    auto r = machine->decoder.decode({bytes, n});
    if (!r) {
        fetch_faulted = n < sizeof bytes;
        return false;
    }
    d = *r;
    return true;
}

Access access_of_fault(uint64_t address) {
    DecodedInstruction d;
    bool fetch_faulted;
    if (!decode_at(vcpu.rip, d, fetch_faulted)) return Access::Fetch;
    if (address >= vcpu.rip && address < vcpu.rip + d.insn.length) return Access::Fetch;
    bool stack_write = d.insn.mnemonic == ZYDIS_MNEMONIC_PUSH || d.insn.mnemonic == ZYDIS_MNEMONIC_CALL;
    return sites::writes_memory(d) || stack_write ? Access::Write : Access::Read;
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
        fatal(tenders::kExitPlatform,
              fmt::format("the guest's page tables give user mode {:#x}, outside the user range [{:#x}, {:#x}) "
                          "this hypervisor can map", ev.address, layout::kUserBase, layout::kUserEnd));
    // The same page at the same frame, faulting again with nothing in
    // between: the host refuses what the guest's tables allow.
    uint64_t key = page ^ (t.pa & ~0xfffull) << 1;
    if (key == machine->last_user_fault && ++machine->repeated_user_faults > 4)
        fatal(tenders::kExitPlatform, fmt::format("guest user access to {:#x} keeps faulting in the host", ev.address));
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
        ++machine->stats.system_calls;
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
        ++machine->stats.user_page_faults;
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
        ++machine->stats.user_interrupted;
        service_events();
        break;
    case UserStop::Died: fatal(tenders::kExitPlatform, "guest user mode's host process died: " + ev.detail);
    }
}

}  // namespace previrt::vmm::process
