#include "tenders/kvm/cpu_state.h"

#include <fmt/format.h>


namespace previrt::kvm {

// Long mode at CPL 0, as the 64-bit entry protocol asks (Intel SDM Vol. 3A, 9.8.5).
void enter_long_mode(Vcpu& vcpu, const loader::BootState& boot) {
    kvm_sregs s = vcpu.sregs();
    kvm_segment code{};
    code.base = 0;
    code.limit = 0xffffffff;
    code.selector = loader::kBootCodeSelector;
    code.type = 11;  // execute/read, accessed
    code.present = 1;
    code.s = 1;
    code.l = 1;
    code.g = 1;
    kvm_segment data = code;
    data.selector = loader::kBootDataSelector;
    data.type = 3;  // read/write, accessed
    data.l = 0;
    data.db = 1;
    s.cs = code;
    s.ds = s.es = s.fs = s.gs = s.ss = data;
    s.cr3 = boot.cr3;
    s.cr4 = loader::kBootCr4;
    s.cr0 = loader::kBootCr0;
    s.efer = loader::kBootEfer;
    vcpu.set_sregs(s);
    kvm_regs r{};
    r.rip = boot.entry;
    r.rdi = boot.rdi;
    r.rsi = boot.rsi;
    r.rsp = boot.rsp;
    r.rflags = 2;
    vcpu.set_regs(r);
}

std::string register_dump(Vcpu& vcpu) {
    kvm_regs r = vcpu.regs();
    kvm_sregs s = vcpu.sregs();
    return fmt::format(
        "  rip {:016x}  rsp {:016x}  rflags {:016x}\n"
        "  rax {:016x}  rbx {:016x}  rcx {:016x}  rdx {:016x}\n"
        "  rsi {:016x}  rdi {:016x}  rbp {:016x}  r8  {:016x}\n"
        "  cr0 {:016x}  cr2 {:016x}  cr3 {:016x}  cr4 {:016x}  efer {:x}\n"
        "  cs {:04x}  ss {:04x}  idt {:x}/{:x}  gdt {:x}/{:x}\n",
        r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, s.cr0, s.cr2, s.cr3, s.cr4,
        s.efer, s.cs.selector, s.ss.selector, s.idt.base, s.idt.limit, s.gdt.base, s.gdt.limit);
}

}  // namespace previrt::kvm
