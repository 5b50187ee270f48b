#include "vmm/core/transitions.h"

namespace previrt::vmm {
namespace {

// An IDT gate (Intel SDM Vol. 3A, 6.14.1, figure 6-8).
struct Gate {
    uint64_t offset = 0;
    uint16_t selector = 0;
    uint8_t ist = 0;
    uint8_t type = 0;  // 0xe interrupt gate, 0xf trap gate
    uint8_t dpl = 0;
    bool present = false;
};

constexpr uint8_t kGateInterrupt = 0xe, kGateTrap = 0xf;

bool read_gate(const GuestMemory& memory, const Vcpu& vcpu, uint8_t vector, Gate& gate) {
    uint64_t offset = uint64_t{vector} * 16;
    if (offset + 15 > vcpu.idtr.limit) return false;
    uint64_t raw[2];
    VirtualFault f;
    if (!read_virtual(memory, vcpu, vcpu.idtr.base + offset, raw, sizeof raw, true, f)) return false;
    gate.offset = (raw[0] & 0xffff) | ((raw[0] >> 32) & 0xffff0000) | (raw[1] << 32);
    gate.selector = static_cast<uint16_t>(raw[0] >> 16);
    gate.ist = (raw[0] >> 32) & 7;
    gate.type = (raw[0] >> 40) & 0xf;
    gate.dpl = (raw[0] >> 45) & 3;
    gate.present = (raw[0] >> 47) & 1;
    return true;
}

// The TSS's RSPn (n = 0-2) or ISTn (n = 1-7, passed as 3 + n - 1 + 1) field
// (Intel SDM Vol. 3A, 8.7, figure 8-11): RSP0 at 4, IST1 at 36.
bool read_tss_stack(const GuestMemory& memory, const Vcpu& vcpu, unsigned offset, uint64_t& rsp) {
    VirtualFault f;
    return read_virtual(memory, vcpu, vcpu.tss_base + offset, &rsp, 8, true, f);
}

enum class Step { Ok, Fault };

Step push_frame(const GuestMemory& memory, Vcpu& vcpu, const Event& event, uint8_t vector) {
    Gate gate;
    if (!read_gate(memory, vcpu, vector, gate) || !gate.present ||
        (gate.type != kGateInterrupt && gate.type != kGateTrap))
        return Step::Fault;
    if (event.software && gate.dpl < vcpu.cpl) return Step::Fault;
    uint64_t code_low, code_high;
    if (!read_descriptor(memory, vcpu, gate.selector, code_low, code_high)) return Step::Fault;
    uint8_t new_cpl = (code_low >> 45) & 3;
    if (new_cpl > vcpu.cpl) return Step::Fault;

    uint64_t rsp = vcpu.gpr[kRsp];
    if (gate.ist) {
        if (!read_tss_stack(memory, vcpu, 36 + 8 * (gate.ist - 1), rsp)) return Step::Fault;
    } else if (new_cpl < vcpu.cpl) {
        if (!read_tss_stack(memory, vcpu, 4 + 8 * new_cpl, rsp)) return Step::Fault;
    }
    rsp &= ~0xfull;  // 64-bit mode aligns the new stack (Intel SDM Vol. 3A, 6.14.2)

    bool error = !event.software && event.has_error_code;
    uint64_t frame[6];
    unsigned n = 0;
    if (error) frame[n++] = event.error_code;
    frame[n++] = vcpu.rip;
    frame[n++] = vcpu.sreg[kCs];
    frame[n++] = vcpu.rflags;
    frame[n++] = vcpu.gpr[kRsp];
    frame[n++] = vcpu.sreg[kSs];
    rsp -= 8 * n;
    // The pushes are supervisor accesses at the new privilege.
    Vcpu at_new = vcpu;
    at_new.cpl = new_cpl;
    VirtualFault f;
    if (!write_virtual(memory, at_new, rsp, frame, 8 * n, true, f)) return Step::Fault;

    if (new_cpl != vcpu.cpl) vcpu.sreg[kSs] = new_cpl;  // a null selector with RPL = new CPL
    vcpu.cpl = new_cpl;
    vcpu.sreg[kCs] = static_cast<uint16_t>((gate.selector & ~3u) | new_cpl);
    vcpu.gpr[kRsp] = rsp;
    vcpu.rip = gate.offset;
    vcpu.rflags &= ~(kFlagTf | kFlagNt | kFlagRf | kFlagVm);
    if (gate.type == kGateInterrupt) vcpu.rflags &= ~kFlagIf;
    return Step::Ok;
}

}  // namespace

bool pushes_error_code(uint8_t vector) {
    switch (vector) {
    case 8: case 10: case 11: case 12: case 13: case 14: case 17: case 21: return true;
    default: return false;
    }
}

bool read_descriptor(const GuestMemory& memory, const Vcpu& vcpu, uint16_t selector, uint64_t& low, uint64_t& high) {
    uint16_t index = selector & ~7u;
    if (index == 0 || (selector & 4) || index + 7u > vcpu.gdtr.limit) return false;
    VirtualFault f;
    if (!read_virtual(memory, vcpu, vcpu.gdtr.base + index, &low, 8, true, f)) return false;
    high = 0;
    if (index + 15u <= vcpu.gdtr.limit) read_virtual(memory, vcpu, vcpu.gdtr.base + index + 8, &high, 8, true, f);
    return true;
}

Delivered deliver(const GuestMemory& memory, Vcpu& vcpu, Event event) {
    Vcpu saved = vcpu;
    if (event.vector == kVectorPageFault && !event.software) vcpu.cr2 = event.address;
    if (push_frame(memory, vcpu, event, event.vector) == Step::Ok) return Delivered::Ok;
    if (event.software) {
        // A gate the caller may not use: #GP with the IDT flag and the vector
        // in the error code (Intel SDM Vol. 3A, 6.13).
        vcpu = saved;
        Event gp = Event::exception(kVectorGeneralProtection, uint32_t{event.vector} * 8 + 2);
        if (push_frame(memory, vcpu, gp, gp.vector) == Step::Ok) return Delivered::Ok;
    }
    if (event.vector == kVectorDoubleFault) return Delivered::TripleFault;
    vcpu = saved;
    Event df = Event::exception(kVectorDoubleFault, 0);
    if (push_frame(memory, vcpu, df, df.vector) == Step::Ok) return Delivered::Ok;
    vcpu = saved;
    return Delivered::TripleFault;
}

Transition do_syscall(Vcpu& vcpu) {
    // Intel SDM Vol. 2B, SYSCALL.
    if (!(vcpu.efer & kEferSce)) return {false, Event::exception(kVectorInvalidOpcode)};
    vcpu.gpr[kRcx] = vcpu.rip;
    vcpu.gpr[kR11] = vcpu.rflags & ~kFlagRf;
    vcpu.rflags &= ~(vcpu.sfmask | kFlagRf);
    vcpu.rflags |= kFlagReserved1;
    uint16_t base = static_cast<uint16_t>(vcpu.star >> 32);
    vcpu.sreg[kCs] = base & ~3u;
    vcpu.sreg[kSs] = static_cast<uint16_t>((base + 8) & ~3u);
    vcpu.cpl = 0;
    vcpu.rip = vcpu.lstar;
    return {};
}

Transition do_sysret(Vcpu& vcpu) {
    // Intel SDM Vol. 2B, SYSRET, 64-bit operand size.
    if (!(vcpu.efer & kEferSce)) return {false, Event::exception(kVectorInvalidOpcode)};
    if (vcpu.cpl != 0 || !is_canonical(vcpu.gpr[kRcx])) return {false, Event::exception(kVectorGeneralProtection, 0)};
    uint16_t base = static_cast<uint16_t>(vcpu.star >> 48);
    vcpu.rip = vcpu.gpr[kRcx];
    vcpu.rflags = (vcpu.gpr[kR11] & 0x3c7fd7) | kFlagReserved1;
    vcpu.sreg[kCs] = static_cast<uint16_t>((base + 16) | 3);
    vcpu.sreg[kSs] = static_cast<uint16_t>((base + 8) | 3);
    vcpu.cpl = 3;
    return {};
}

Transition do_iret(const GuestMemory& memory, Vcpu& vcpu) {
    // Intel SDM Vol. 2A, IRET/IRETD/IRETQ, 64-bit mode with a 64-bit operand.
    uint64_t frame[5];
    VirtualFault f;
    if (!read_virtual(memory, vcpu, vcpu.gpr[kRsp], frame, sizeof frame, false, f))
        return {false, Event::page_fault(f.address, f.error_code)};
    uint64_t rip = frame[0], cs = frame[1] & 0xffff, rflags = frame[2], rsp = frame[3], ss = frame[4] & 0xffff;
    uint8_t rpl = cs & 3;
    uint64_t low, high;
    if (rpl < vcpu.cpl || !read_descriptor(memory, vcpu, static_cast<uint16_t>(cs), low, high) ||
        !((low >> 43) & 1) || ((low >> 45) & 3) != rpl || !((low >> 47) & 1))
        return {false, Event::exception(kVectorGeneralProtection, static_cast<uint32_t>(cs & ~3u))};
    if (!is_canonical(rip)) return {false, Event::exception(kVectorGeneralProtection, 0)};
    // At CPL 0 every flag may change; at CPL 3 not IF or IOPL.
    uint64_t changeable = vcpu.cpl == 0 ? (kFlagsUser | kFlagIf | kFlagIopl | kFlagNt) : kFlagsUser;
    vcpu.rflags = (vcpu.rflags & ~changeable) | (rflags & changeable) | kFlagReserved1;
    vcpu.rip = rip;
    vcpu.gpr[kRsp] = rsp;
    vcpu.sreg[kCs] = static_cast<uint16_t>(cs);
    vcpu.sreg[kSs] = static_cast<uint16_t>(ss);
    vcpu.cpl = rpl;
    return {};
}

}  // namespace previrt::vmm
