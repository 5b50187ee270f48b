#include "vmm/core/emulator.h"

namespace previrt::vmm {
namespace {

Emulation done() { return {}; }
Emulation fault(Event e) { return {Outcome::Fault, e, false}; }
Emulation gp0() { return fault(Event::exception(kVectorGeneralProtection, 0)); }
Emulation unsupported() { return {Outcome::Unsupported, {}, false}; }

void advance(Vcpu& vcpu, const DecodedInstruction& d) { vcpu.rip += d.insn.length; }

// MAXPHYADDR (Intel SDM Vol. 3A 4.1.4): CPUID 0x80000008's EAX[7:0], 36 where
// the leaf is missing. The guest's CPUID is the processor's own, so this is
// the width the guest was told.
unsigned physical_address_bits() {
    static unsigned bits = 0;
    if (bits) return bits;
    uint32_t a, b, c, d;
    asm("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0u));
    if (a >= 0x80000008u) {
        asm("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000008u), "c"(0u));
        bits = a & 0xff;
    }
    if (bits < 36 || bits > 52) bits = 36;
    return bits;
}

uint64_t mask_of(unsigned bytes) { return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1; }

// A general-register or immediate source operand's value.
bool source_value(const Vcpu& vcpu, const ZydisDecodedOperand& op, uint64_t& value) {
    GprOperand r;
    if (op.type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_of(op.reg.value, r)) {
        value = read_gpr(vcpu, r);
        return true;
    }
    if (op.type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        value = op.imm.value.u;
        return true;
    }
    return false;
}

Emulation read_memory(const GuestMemory& m, const Vcpu& vcpu, uint64_t va, void* out, size_t n) {
    VirtualFault f;
    if (!read_virtual(m, vcpu, va, out, n, false, f)) return fault(Event::page_fault(f.address, f.error_code));
    return done();
}

Emulation write_memory(const GuestMemory& m, const Vcpu& vcpu, uint64_t va, const void* in, size_t n) {
    VirtualFault f;
    if (!write_virtual(m, vcpu, va, in, n, false, f)) return fault(Event::page_fault(f.address, f.error_code));
    return done();
}

int sreg_of(ZydisRegister reg) {
    switch (reg) {
    case ZYDIS_REGISTER_ES: return kEs;
    case ZYDIS_REGISTER_CS: return kCs;
    case ZYDIS_REGISTER_SS: return kSs;
    case ZYDIS_REGISTER_DS: return kDs;
    case ZYDIS_REGISTER_FS: return kFs;
    case ZYDIS_REGISTER_GS: return kGs;
    default: return -1;
    }
}

// A data-segment selector the guest loads: null, or a present data or
// readable code segment in the GDT whose DPL suits the CPL (Intel SDM Vol. 2B,
// MOV: "Loading a segment register while in protected mode").
bool selector_loadable(const GuestMemory& m, const Vcpu& vcpu, unsigned sreg, uint16_t sel) {
    if ((sel & ~3u) == 0) return sreg != kSs || vcpu.cpl != 3;
    uint64_t low, high;
    if (!read_descriptor(m, vcpu, sel, low, high)) return false;
    bool present = (low >> 47) & 1, code = (low >> 43) & 1, system = !((low >> 44) & 1);
    unsigned dpl = (low >> 45) & 3;
    if (!present || system) return false;
    if (sreg == kSs) return !code && ((low >> 41) & 1) && dpl == vcpu.cpl && (sel & 3) == vcpu.cpl;
    return !code || ((low >> 41) & 1);
}

Emulation mov_control(const GuestMemory&, Vcpu& vcpu, Backend& backend, const DecodedInstruction& d) {
    const ZydisDecodedOperand& dst = d.operands[0];
    const ZydisDecodedOperand& src = d.operands[1];
    if (vcpu.cpl != 0) return gp0();
    GprOperand r;
    if (dst.type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_of(dst.reg.value, r)) {
        uint64_t v;
        switch (src.reg.value) {
        case ZYDIS_REGISTER_CR0: v = vcpu.cr0; break;
        case ZYDIS_REGISTER_CR2: v = vcpu.cr2; break;
        case ZYDIS_REGISTER_CR3: v = vcpu.cr3; break;
        case ZYDIS_REGISTER_CR4: v = vcpu.cr4; break;
        case ZYDIS_REGISTER_CR8: v = 0; break;
        default:
            if (src.reg.value >= ZYDIS_REGISTER_DR0 && src.reg.value <= ZYDIS_REGISTER_DR7) {
                v = src.reg.value == ZYDIS_REGISTER_DR6 ? 0xffff0ff0 : src.reg.value == ZYDIS_REGISTER_DR7 ? 0x400 : 0;
                break;
            }
            return fault(Event::exception(kVectorInvalidOpcode));
        }
        write_gpr(vcpu, r, v);
    } else if (src.type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_of(src.reg.value, r)) {
        uint64_t v = read_gpr(vcpu, r);
        switch (dst.reg.value) {
        case ZYDIS_REGISTER_CR0:
            if ((v ^ vcpu.cr0) & (kCr0Pg | kCr0Wp)) backend.flush_translations();
            vcpu.cr0 = v;
            break;
        case ZYDIS_REGISTER_CR2: vcpu.cr2 = v; break;
        case ZYDIS_REGISTER_CR3:
            // Bits from MAXPHYADDR up are reserved (no PCIDs here): #GP(0),
            // Intel SDM Vol. 2B, MOV to control register.
            if (v >> physical_address_bits()) return gp0();
            vcpu.cr3 = v;
            backend.flush_translations();
            break;
        case ZYDIS_REGISTER_CR4:
            if ((v ^ vcpu.cr4) & (kCr4Pge | kCr4Pae)) backend.flush_translations();
            vcpu.cr4 = v;
            break;
        case ZYDIS_REGISTER_CR8: break;
        default:
            // Debug registers: accepted and ignored, no breakpoints are emulated.
            if (dst.reg.value >= ZYDIS_REGISTER_DR0 && dst.reg.value <= ZYDIS_REGISTER_DR7) break;
            return fault(Event::exception(kVectorInvalidOpcode));
        }
    } else {
        return unsupported();
    }
    advance(vcpu, d);
    return done();
}

Emulation mov_segment(const GuestMemory& m, Vcpu& vcpu, const DecodedInstruction& d) {
    const ZydisDecodedOperand& dst = d.operands[0];
    const ZydisDecodedOperand& src = d.operands[1];
    int to = dst.type == ZYDIS_OPERAND_TYPE_REGISTER ? sreg_of(dst.reg.value) : -1;
    int from = src.type == ZYDIS_OPERAND_TYPE_REGISTER ? sreg_of(src.reg.value) : -1;
    if (to >= 0) {
        uint16_t sel;
        if (src.type == ZYDIS_OPERAND_TYPE_MEMORY) {
            Emulation e = read_memory(m, vcpu, effective_address(vcpu, d, src), &sel, 2);
            if (e.outcome != Outcome::Done) return e;
        } else {
            uint64_t v;
            if (!source_value(vcpu, src, v)) return unsupported();
            sel = static_cast<uint16_t>(v);
        }
        if (to == kCs) return fault(Event::exception(kVectorInvalidOpcode));
        if (!selector_loadable(m, vcpu, static_cast<unsigned>(to), sel))
            return fault(Event::exception(kVectorGeneralProtection, sel & ~3u));
        vcpu.sreg[to] = sel;
        // A selector load in 64-bit mode leaves the FS and GS bases alone only
        // for null selectors on some processors; the guest sets its bases by
        // MSR after, so the VMM keeps them.
    } else if (from >= 0) {
        uint16_t sel = vcpu.sreg[from];
        if (dst.type == ZYDIS_OPERAND_TYPE_MEMORY) {
            Emulation e = write_memory(m, vcpu, effective_address(vcpu, d, dst), &sel, 2);
            if (e.outcome != Outcome::Done) return e;
        } else {
            GprOperand r;
            if (!gpr_of(dst.reg.value, r)) return unsupported();
            // A register destination gets the selector zero-extended (Intel SDM Vol. 2B, MOV).
            write_gpr(vcpu, r.bytes >= 4 ? GprOperand{r.index, 8, false} : r, sel);
        }
    } else {
        return unsupported();
    }
    advance(vcpu, d);
    return done();
}

Emulation descriptor_table(const GuestMemory& m, Vcpu& vcpu, const DecodedInstruction& d) {
    ZydisMnemonic mn = d.insn.mnemonic;
    const ZydisDecodedOperand& op = d.operands[0];
    if (mn == ZYDIS_MNEMONIC_LGDT || mn == ZYDIS_MNEMONIC_LIDT) {
        if (vcpu.cpl != 0) return gp0();
        uint8_t raw[10];
        Emulation e = read_memory(m, vcpu, effective_address(vcpu, d, op), raw, sizeof raw);
        if (e.outcome != Outcome::Done) return e;
        TableRegister t;
        t.limit = static_cast<uint16_t>(raw[0] | raw[1] << 8);
        for (int i = 7; i >= 0; --i) t.base = t.base << 8 | raw[2 + i];
        (mn == ZYDIS_MNEMONIC_LGDT ? vcpu.gdtr : vcpu.idtr) = t;
    } else if (mn == ZYDIS_MNEMONIC_SGDT || mn == ZYDIS_MNEMONIC_SIDT) {
        const TableRegister& t = mn == ZYDIS_MNEMONIC_SGDT ? vcpu.gdtr : vcpu.idtr;
        uint8_t raw[10] = {static_cast<uint8_t>(t.limit), static_cast<uint8_t>(t.limit >> 8)};
        for (int i = 0; i < 8; ++i) raw[2 + i] = static_cast<uint8_t>(t.base >> (8 * i));
        Emulation e = write_memory(m, vcpu, effective_address(vcpu, d, op), raw, sizeof raw);
        if (e.outcome != Outcome::Done) return e;
    } else if (mn == ZYDIS_MNEMONIC_LTR || mn == ZYDIS_MNEMONIC_LLDT) {
        if (vcpu.cpl != 0) return gp0();
        uint64_t v = 0;
        if (op.type == ZYDIS_OPERAND_TYPE_MEMORY) {
            Emulation e = read_memory(m, vcpu, effective_address(vcpu, d, op), &v, 2);
            if (e.outcome != Outcome::Done) return e;
        } else if (!source_value(vcpu, op, v)) {
            return unsupported();
        }
        uint16_t sel = static_cast<uint16_t>(v);
        if (mn == ZYDIS_MNEMONIC_LLDT) {
            vcpu.ldtr = sel;
        } else {
            // An available 64-bit TSS (type 9) in the GDT, 16 bytes (Intel SDM Vol. 3A, 8.2.3).
            uint64_t low, high;
            if (!read_descriptor(m, vcpu, sel, low, high) || ((low >> 40) & 0xf) != 9 || !((low >> 47) & 1))
                return fault(Event::exception(kVectorGeneralProtection, sel & ~3u));
            vcpu.tr = sel;
            vcpu.tss_base = ((low >> 16) & 0xffffff) | (((low >> 56) & 0xff) << 24) | (high << 32);
        }
    } else {  // str, sldt
        uint16_t sel = mn == ZYDIS_MNEMONIC_STR ? vcpu.tr : vcpu.ldtr;
        GprOperand r;
        if (op.type == ZYDIS_OPERAND_TYPE_MEMORY) {
            Emulation e = write_memory(m, vcpu, effective_address(vcpu, d, op), &sel, 2);
            if (e.outcome != Outcome::Done) return e;
        } else if (gpr_of(op.reg.value, r)) {
            write_gpr(vcpu, r, sel);
        } else {
            return unsupported();
        }
    }
    advance(vcpu, d);
    return done();
}

Emulation port_io(Vcpu& vcpu, Backend& backend, const DecodedInstruction& d) {
    // IOPL 0 (the guest never raises it here) means only CPL 0 may do port I/O.
    if (vcpu.cpl > ((vcpu.rflags & kFlagIopl) >> 12)) return gp0();
    bool in = d.insn.mnemonic == ZYDIS_MNEMONIC_IN;
    const ZydisDecodedOperand& data = in ? d.operands[0] : d.operands[1];
    const ZydisDecodedOperand& port_op = in ? d.operands[1] : d.operands[0];
    uint64_t port;
    if (!source_value(vcpu, port_op, port)) return unsupported();
    GprOperand r;
    if (!gpr_of(data.reg.value, r)) return unsupported();
    uint16_t p = static_cast<uint16_t>(port);
    if (in) {
        uint32_t v = backend.port_read(p, r.bytes);
        write_gpr(vcpu, r, v);
    } else {
        backend.port_write(p, r.bytes, static_cast<uint32_t>(read_gpr(vcpu, r) & mask_of(r.bytes)));
    }
    advance(vcpu, d);
    return done();
}

Emulation msr(Vcpu& vcpu, const DecodedInstruction& d) {
    if (vcpu.cpl != 0) return gp0();
    uint32_t index = static_cast<uint32_t>(vcpu.gpr[kRcx]);
    uint64_t* reg = nullptr;
    switch (index) {
    case kMsrEfer: reg = &vcpu.efer; break;
    case kMsrStar: reg = &vcpu.star; break;
    case kMsrLstar: reg = &vcpu.lstar; break;
    case kMsrCstar: reg = &vcpu.cstar; break;
    case kMsrSfmask: reg = &vcpu.sfmask; break;
    case kMsrFsBase: reg = &vcpu.fs_base; break;
    case kMsrGsBase: reg = &vcpu.gs_base; break;
    case kMsrKernelGsBase: reg = &vcpu.kernel_gs_base; break;
    case kMsrTscAux: reg = &vcpu.tsc_aux; break;
    case kMsrPat: reg = &vcpu.pat; break;
    default: return gp0();
    }
    if (d.insn.mnemonic == ZYDIS_MNEMONIC_RDMSR) {
        vcpu.gpr[kRax] = *reg & 0xffffffff;
        vcpu.gpr[kRdx] = *reg >> 32;
    } else {
        uint64_t v = (vcpu.gpr[kRdx] << 32) | (vcpu.gpr[kRax] & 0xffffffff);
        bool base = index == kMsrFsBase || index == kMsrGsBase || index == kMsrKernelGsBase;
        if (base && !is_canonical(v)) return gp0();
        if (index == kMsrEfer) {
            // Reserved bits, or LME changed while paging is on: #GP(0) (Intel
            // SDM Vol. 3A 2.2.1 and 9.8.5); LMA only the processor sets.
            if (v & ~(kEferSce | kEferLme | kEferLma | kEferNxe)) return gp0();
            if ((vcpu.cr0 & kCr0Pg) && ((v ^ vcpu.efer) & kEferLme)) return gp0();
            v = (v & ~kEferLma) | (vcpu.efer & kEferLma);
        }
        *reg = v;
    }
    advance(vcpu, d);
    return done();
}

Emulation far_return(const GuestMemory& m, Vcpu& vcpu, const DecodedInstruction& d) {
    // retfq to the same privilege (Intel SDM Vol. 2B, RET): what a kernel does
    // to reload CS after lgdt.
    unsigned size = d.insn.operand_width / 8;
    uint64_t frame[2] = {};
    for (unsigned i = 0; i < 2; ++i) {
        Emulation e = read_memory(m, vcpu, vcpu.gpr[kRsp] + i * size, &frame[i], size);
        if (e.outcome != Outcome::Done) return e;
    }
    uint16_t cs = static_cast<uint16_t>(frame[1]);
    uint64_t low, high;
    if ((cs & 3) != vcpu.cpl || !read_descriptor(m, vcpu, cs, low, high) || !((low >> 43) & 1) ||
        !((low >> 47) & 1) || !((low >> 53) & 1))
        return fault(Event::exception(kVectorGeneralProtection, cs & ~3u));
    uint64_t pop = d.operands[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? d.operands[0].imm.value.u : 0;
    vcpu.rip = frame[0];
    vcpu.sreg[kCs] = cs;
    vcpu.gpr[kRsp] += 2 * size + pop;
    return done();
}

Emulation with_transition(Transition t) { return t.ok ? done() : fault(t.fault); }

}  // namespace

bool gpr_of(ZydisRegister reg, GprOperand& out) {
    // Zydis numbers each class of general register in the SDM's encoding
    // order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15), as Vcpu::gpr
    // does; only the byte registers have ah-bh in the middle.
    auto in = [&](ZydisRegister first, ZydisRegister last) { return reg >= first && reg <= last; };
    if (in(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_R15)) out = {unsigned(reg - ZYDIS_REGISTER_RAX), 8, false};
    else if (in(ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_R15D)) out = {unsigned(reg - ZYDIS_REGISTER_EAX), 4, false};
    else if (in(ZYDIS_REGISTER_AX, ZYDIS_REGISTER_R15W)) out = {unsigned(reg - ZYDIS_REGISTER_AX), 2, false};
    else if (in(ZYDIS_REGISTER_AL, ZYDIS_REGISTER_BL)) out = {unsigned(reg - ZYDIS_REGISTER_AL), 1, false};
    else if (in(ZYDIS_REGISTER_AH, ZYDIS_REGISTER_BH)) out = {unsigned(reg - ZYDIS_REGISTER_AH), 1, true};
    else if (in(ZYDIS_REGISTER_SPL, ZYDIS_REGISTER_DIL)) out = {unsigned(kRsp + (reg - ZYDIS_REGISTER_SPL)), 1, false};
    else if (in(ZYDIS_REGISTER_R8B, ZYDIS_REGISTER_R15B)) out = {unsigned(kR8 + (reg - ZYDIS_REGISTER_R8B)), 1, false};
    else return false;
    return true;
}

uint64_t read_gpr(const Vcpu& vcpu, const GprOperand& r) {
    uint64_t v = vcpu.gpr[r.index];
    if (r.high_byte) return (v >> 8) & 0xff;
    return v & mask_of(r.bytes);
}

void write_gpr(Vcpu& vcpu, const GprOperand& r, uint64_t value) {
    uint64_t& g = vcpu.gpr[r.index];
    if (r.high_byte) g = (g & ~0xff00ull) | ((value & 0xff) << 8);
    else if (r.bytes == 4) g = value & 0xffffffff;  // a 32-bit write zero-extends (Intel SDM Vol. 1, 3.4.1.1)
    else g = (g & ~mask_of(r.bytes)) | (value & mask_of(r.bytes));
}

uint64_t effective_address(const Vcpu& vcpu, const DecodedInstruction& d, const ZydisDecodedOperand& op) {
    uint64_t a = static_cast<uint64_t>(op.mem.disp.value);
    GprOperand r;
    if (op.mem.base == ZYDIS_REGISTER_RIP) a += vcpu.rip + d.insn.length;
    else if (op.mem.base != ZYDIS_REGISTER_NONE && gpr_of(op.mem.base, r)) a += read_gpr(vcpu, r);
    if (op.mem.index != ZYDIS_REGISTER_NONE && gpr_of(op.mem.index, r)) a += read_gpr(vcpu, r) * op.mem.scale;
    if (d.insn.address_width == 32) a &= 0xffffffff;
    if (op.mem.segment == ZYDIS_REGISTER_FS) a += vcpu.fs_base;
    if (op.mem.segment == ZYDIS_REGISTER_GS) a += vcpu.gs_base;
    return a;
}

Emulation emulate(const GuestMemory& memory, Vcpu& vcpu, Backend& backend, const DecodedInstruction& d) {
    bool kernel = vcpu.cpl == 0;
    switch (d.insn.mnemonic) {
    case ZYDIS_MNEMONIC_CLI:
    case ZYDIS_MNEMONIC_STI: {
        if (vcpu.cpl > ((vcpu.rflags & kFlagIopl) >> 12)) return gp0();
        bool sti = d.insn.mnemonic == ZYDIS_MNEMONIC_STI;
        bool was = vcpu.interrupts_enabled();
        vcpu.rflags = sti ? vcpu.rflags | kFlagIf : vcpu.rflags & ~kFlagIf;
        advance(vcpu, d);
        return {Outcome::Done, {}, sti && !was};
    }
    case ZYDIS_MNEMONIC_PUSHFQ: {
        uint64_t f = vcpu.rflags & ~(kFlagRf | kFlagVm);
        Emulation e = write_memory(memory, vcpu, vcpu.gpr[kRsp] - 8, &f, 8);
        if (e.outcome != Outcome::Done) return e;
        vcpu.gpr[kRsp] -= 8;
        advance(vcpu, d);
        return done();
    }
    case ZYDIS_MNEMONIC_POPFQ: {
        uint64_t f;
        Emulation e = read_memory(memory, vcpu, vcpu.gpr[kRsp], &f, 8);
        if (e.outcome != Outcome::Done) return e;
        uint64_t changeable = kFlagsUser & ~kFlagRf;
        if (kernel) changeable |= kFlagIf | kFlagIopl;
        vcpu.rflags = (vcpu.rflags & ~changeable) | (f & changeable) | kFlagReserved1;
        vcpu.gpr[kRsp] += 8;
        advance(vcpu, d);
        return done();
    }
    case ZYDIS_MNEMONIC_HLT:
        if (!kernel) return gp0();
        advance(vcpu, d);
        return {Outcome::Halt, {}, false};
    case ZYDIS_MNEMONIC_IN:
    case ZYDIS_MNEMONIC_OUT: return port_io(vcpu, backend, d);
    case ZYDIS_MNEMONIC_MOV:
        for (unsigned i = 0; i < 2; ++i) {
            const ZydisDecodedOperand& op = d.operands[i];
            if (op.type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
            ZydisRegister r = op.reg.value;
            if ((r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15) || (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15))
                return mov_control(memory, vcpu, backend, d);
            if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS) return mov_segment(memory, vcpu, d);
        }
        return unsupported();
    case ZYDIS_MNEMONIC_LGDT:
    case ZYDIS_MNEMONIC_LIDT:
    case ZYDIS_MNEMONIC_SGDT:
    case ZYDIS_MNEMONIC_SIDT:
    case ZYDIS_MNEMONIC_LTR:
    case ZYDIS_MNEMONIC_LLDT:
    case ZYDIS_MNEMONIC_STR:
    case ZYDIS_MNEMONIC_SLDT: return descriptor_table(memory, vcpu, d);
    case ZYDIS_MNEMONIC_INVLPG:
        if (!kernel) return gp0();
        backend.flush_translation(effective_address(vcpu, d, d.operands[0]));
        advance(vcpu, d);
        return done();
    case ZYDIS_MNEMONIC_WBINVD:
    case ZYDIS_MNEMONIC_INVD:
    case ZYDIS_MNEMONIC_CLTS:
        if (!kernel) return gp0();
        advance(vcpu, d);
        return done();
    case ZYDIS_MNEMONIC_RDMSR:
    case ZYDIS_MNEMONIC_WRMSR: return msr(vcpu, d);
    case ZYDIS_MNEMONIC_SWAPGS: {
        if (!kernel) return fault(Event::exception(kVectorInvalidOpcode));
        uint64_t t = vcpu.gs_base;
        vcpu.gs_base = vcpu.kernel_gs_base;
        vcpu.kernel_gs_base = t;
        advance(vcpu, d);
        return done();
    }
    case ZYDIS_MNEMONIC_SYSRET:
        if (d.insn.operand_width != 64) return unsupported();  // 32-bit user code is not supported
        return with_transition(do_sysret(vcpu));
    case ZYDIS_MNEMONIC_IRETQ: return with_transition(do_iret(memory, vcpu));
    case ZYDIS_MNEMONIC_RET:
        if (d.insn.meta.branch_type != ZYDIS_BRANCH_TYPE_FAR) return unsupported();
        return far_return(memory, vcpu, d);
    default: return unsupported();
    }
}

}  // namespace previrt::vmm
