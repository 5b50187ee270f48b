// The para-virtual interface (abi/previrt/paravirt.h): each operation is the
// instruction it stands for, run through the same emulator as a rewritten
// site, with the arguments put where the instruction takes them. So the
// para-virtualized guest and the pre-virtualized one differ only in how they
// get here: a call compiled in, or a call written into a site at load time.
#include "vmm/process/paravirt.h"

#include <fmt/format.h>

#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <vector>

#include "sites/insn_decoder.h"
#include "previrt/paravirt.h"
#include "vmm/process/hole.h"

namespace previrt::vmm::process {
namespace {

// The instructions, decoded once.
struct Instructions {
    DecodedInstruction in[3], out[3], read_cr[5], write_cr[5];
    DecodedInstruction invlpg, rdmsr, wrmsr, lgdt, lidt, ltr, swapgs, sysret, iret, sti, hlt;
};

DecodedInstruction decode(std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> b(bytes);
    sites::InsnDecoder decoder;
    auto d = decoder.decode(b);
    if (!d || d->insn.length != b.size()) throw std::logic_error("para-virtual entries: a bad instruction template");
    return *d;
}

const Instructions& instructions() {
    static const Instructions i = [] {
        Instructions t;
        // in (%dx), %al/%ax/%eax and out %al/%ax/%eax, (%dx) (Intel SDM Vol. 2A, IN; Vol. 2B, OUT)
        t.in[0] = decode({0xec}), t.in[1] = decode({0x66, 0xed}), t.in[2] = decode({0xed});
        t.out[0] = decode({0xee}), t.out[1] = decode({0x66, 0xef}), t.out[2] = decode({0xef});
        // mov %crN, %rax and mov %rsi, %crN (0f 20 /r, 0f 22 /r)
        for (uint8_t n : {0, 2, 3, 4}) {
            t.read_cr[n] = decode({0x0f, 0x20, uint8_t(0xc0 | n << 3)});
            t.write_cr[n] = decode({0x0f, 0x22, uint8_t(0xc6 | n << 3)});
        }
        t.invlpg = decode({0x0f, 0x01, 0x3f});  // invlpg (%rdi)
        t.rdmsr = decode({0x0f, 0x32});
        t.wrmsr = decode({0x0f, 0x30});
        t.lgdt = decode({0x0f, 0x01, 0x17});    // lgdt (%rdi)
        t.lidt = decode({0x0f, 0x01, 0x1f});    // lidt (%rdi)
        t.ltr = decode({0x0f, 0x00, 0xdf});     // ltr %di
        t.swapgs = decode({0x0f, 0x01, 0xf8});
        t.sysret = decode({0x48, 0x0f, 0x07});  // sysretq
        t.iret = decode({0x48, 0xcf});          // iretq
        t.sti = decode({0xfb});
        t.hlt = decode({0xf4});
        return t;
    }();
    return i;
}

unsigned size_index(uint64_t size) { return size == 1 ? 0 : size == 2 ? 1 : 2; }

const char* const kOpNames[pv::kOpCount] = {"sti", "halt", "in", "out", "read_cr", "write_cr", "invlpg", "rdmsr",
                                            "wrmsr", "load_gdt", "load_idt", "load_tr", "load_segments", "swapgs",
                                            "sysret", "iret"};

}  // namespace

const char* paravirt_op_name(unsigned op) { return op < pv::kOpCount ? kOpNames[op] : "unknown"; }

void write_paravirt_entries(void (*entry)()) {
    instructions();  // decoded before the guest runs
    for (unsigned op = 0; op < pv::kOpCount; ++op) {
        // push $op; jmp *slot(%rip): 6a ib (Intel SDM Vol. 2B, PUSH), FF /4 with the slot right after
        auto* p = reinterpret_cast<uint8_t*>(pv::entry(static_cast<pv::Op>(op)));
        p[0] = 0x6a;
        p[1] = static_cast<uint8_t>(op);
        p[2] = 0xff;
        p[3] = 0x25;
        std::memset(p + 4, 0, 4);
        uint64_t a = reinterpret_cast<uint64_t>(entry);
        std::memcpy(p + 8, &a, 8);
    }
}

ParavirtCall prepare_paravirt_call(Vcpu& vcpu, unsigned op, const GuestMemory& memory) {
    const Instructions& t = instructions();
    ParavirtCall c;
    uint64_t* g = vcpu.gpr;
    c.saved_rax = g[kRax];
    std::memcpy(c.saved, g, sizeof c.saved);
    c.keep_registers = true;
    uint64_t a = g[kRdi], b = g[kRsi], v = g[kRdx];
    switch (op) {
    case pv::kSti: c.insn = &t.sti; break;
    case pv::kHalt:
        if (a) vcpu.rflags |= kFlagIf;
        c.insn = &t.hlt;
        break;
    case pv::kIn:
        g[kRdx] = a & 0xffff;
        g[kRax] = 0;
        c.insn = &t.in[size_index(b)];
        c.result = true;
        break;
    case pv::kOut:
        g[kRdx] = a & 0xffff;
        g[kRax] = v;
        c.insn = &t.out[size_index(b)];
        break;
    case pv::kReadCr:
        if (a != 0 && a != 2 && a != 3 && a != 4) return c;
        c.insn = &t.read_cr[a];
        c.result = true;
        break;
    case pv::kWriteCr:
        if (a != 0 && a != 2 && a != 3 && a != 4) return c;
        c.insn = &t.write_cr[a];
        break;
    case pv::kInvlpg: c.insn = &t.invlpg; break;
    case pv::kRdmsr:
        g[kRcx] = a;
        c.insn = &t.rdmsr;
        c.result = c.msr_result = true;
        break;
    case pv::kWrmsr:
        g[kRcx] = a;
        g[kRax] = b & 0xffffffff;
        g[kRdx] = b >> 32;
        c.insn = &t.wrmsr;
        break;
    case pv::kLoadGdt: c.insn = &t.lgdt; break;
    case pv::kLoadIdt: c.insn = &t.lidt; break;
    case pv::kLoadTr: c.insn = &t.ltr; break;
    case pv::kLoadSegments:
        // Only the selectors change: a 64-bit guest's segments are flat.
        vcpu.sreg[kCs] = static_cast<uint16_t>(a);
        vcpu.sreg[kDs] = vcpu.sreg[kEs] = vcpu.sreg[kSs] = static_cast<uint16_t>(b);
        vcpu.sreg[kFs] = vcpu.sreg[kGs] = 0;
        c.done = true;
        break;
    case pv::kSwapgs: c.insn = &t.swapgs; break;
    case pv::kSysret: {
        // The user rsp is on top of the stack (the call's return address is
        // already popped).
        VirtualFault f;
        uint64_t user_rsp;
        if (!read_virtual(memory, vcpu, g[kRsp], &user_rsp, 8, false, f)) return c;
        g[kRsp] = user_rsp;
        c.insn = &t.sysret;
        c.keep_registers = false;
        break;
    }
    case pv::kIret:
        c.insn = &t.iret;
        c.keep_registers = false;
        break;
    default: break;
    }
    return c;
}

void finish_paravirt_call(Vcpu& vcpu, const ParavirtCall& c) {
    if (!c.keep_registers) return;
    uint64_t result = c.msr_result ? (vcpu.gpr[kRdx] << 32) | (vcpu.gpr[kRax] & 0xffffffff) : vcpu.gpr[kRax];
    std::memcpy(vcpu.gpr, c.saved, sizeof c.saved);
    vcpu.gpr[kRax] = c.result ? result : c.saved_rax;
}

}  // namespace previrt::vmm::process
