// The processor's sensitive operations, one inline function each. Plain
// instructions, written as for bare hardware: the afterburner finds and records
// every one of them when the kernel is built. The para-virtualized build
// builds (for comparison only) call the hypervisor instead: for the Linux
// process (PREVIRT_PARAVIRT) in place of every sensitive instruction, for KVM
// (PREVIRT_PARAVIRT_KVM) for the devices' ports and CR3 loads only, as KVM runs
// the rest natively.
#pragma once

#include <stdint.h>

#include "arch/x86_64/paravirt.h"
#include "x86/control.h"

namespace guest::cpu {

#ifndef PREVIRT_PV_CALLS
inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
inline uint8_t inb(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline uint16_t inw(uint16_t port) {
    uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline uint32_t inl(uint16_t port) {
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

#else
inline void outb(uint16_t port, uint8_t v) { pv::call(pv::Op::kOut, port, 1, v); }
inline void outw(uint16_t port, uint16_t v) { pv::call(pv::Op::kOut, port, 2, v); }
inline void outl(uint16_t port, uint32_t v) { pv::call(pv::Op::kOut, port, 4, v); }
inline uint8_t inb(uint16_t port) { return static_cast<uint8_t>(pv::call(pv::Op::kIn, port, 1)); }
inline uint16_t inw(uint16_t port) { return static_cast<uint16_t>(pv::call(pv::Op::kIn, port, 2)); }
inline uint32_t inl(uint16_t port) { return static_cast<uint32_t>(pv::call(pv::Op::kIn, port, 4)); }
#endif

inline constexpr uint64_t kFlagIf = 1u << 9;  // Intel SDM Vol. 1, 3.4.3: EFLAGS.IF

#ifndef PREVIRT_PARAVIRT
inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void hlt() { asm volatile("hlt" ::: "memory"); }
// sti; hlt: the interrupt shadow makes the pair atomic, so no wake-up is lost.
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }

inline uint64_t read_flags() {
    uint64_t f;
    asm volatile("pushfq; popq %0" : "=r"(f) : : "memory");
    return f;
}
inline void write_flags(uint64_t f) { asm volatile("pushq %0; popfq" : : "r"(f) : "memory", "cc"); }
#else
inline void cli() { pv::disable_interrupts(); }
inline void sti() { pv::enable_interrupts(); }
inline void hlt() { pv::call(pv::Op::kHalt, 0); }
// The entry sets the virtual IF and waits in one step, so no wake-up is lost.
inline void sti_hlt() { pv::call(pv::Op::kHalt, 1); }

inline uint64_t read_flags() {
    uint64_t f;
    asm volatile("pushfq; popq %0" : "=r"(f) : : "memory");
    return (f & ~kFlagIf) | (pv::interrupt_flag() ? kFlagIf : 0);
}
inline void write_flags(uint64_t f) {
    if (f & kFlagIf) pv::enable_interrupts();
    else pv::disable_interrupts();
}
#endif
inline void pause() { asm volatile("pause"); }

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

#ifndef PREVIRT_PARAVIRT
inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t{hi} << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)));
}
#else
inline uint64_t rdmsr(uint32_t msr) { return pv::call(pv::Op::kRdmsr, msr); }
inline void wrmsr(uint32_t msr, uint64_t v) { pv::call(pv::Op::kWrmsr, msr, v); }
#endif

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

#ifndef PREVIRT_PARAVIRT
inline uint64_t read_cr0() {
    uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr2() {
    uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr3() {
    uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr4() {
    uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline void write_cr0(uint64_t v) { asm volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
#ifndef PREVIRT_PV_CALLS
inline void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
#else
inline void write_cr3(uint64_t v) { pv::call(pv::Op::kWriteCr, 3, v); }
#endif
inline void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
inline void invlpg(uint64_t va) { asm volatile("invlpg (%0)" : : "r"(va) : "memory"); }

struct [[gnu::packed]] TablePointer {
    uint16_t limit;
    uint64_t base;
};
inline void lgdt(const TablePointer& p) { asm volatile("lgdt %0" : : "m"(p)); }
inline void lidt(const TablePointer& p) { asm volatile("lidt %0" : : "m"(p)); }
inline void ltr(uint16_t selector) { asm volatile("ltr %0" : : "r"(selector)); }
#else
inline uint64_t read_cr0() { return pv::call(pv::Op::kReadCr, 0); }
inline uint64_t read_cr2() { return pv::call(pv::Op::kReadCr, 2); }
inline uint64_t read_cr3() { return pv::call(pv::Op::kReadCr, 3); }
inline uint64_t read_cr4() { return pv::call(pv::Op::kReadCr, 4); }
inline void write_cr0(uint64_t v) { pv::call(pv::Op::kWriteCr, 0, v); }
inline void write_cr3(uint64_t v) { pv::call(pv::Op::kWriteCr, 3, v); }
inline void write_cr4(uint64_t v) { pv::call(pv::Op::kWriteCr, 4, v); }
inline void invlpg(uint64_t va) { pv::call(pv::Op::kInvlpg, va); }

struct [[gnu::packed]] TablePointer {
    uint16_t limit;
    uint64_t base;
};
inline void lgdt(const TablePointer& p) { pv::call(pv::Op::kLoadGdt, reinterpret_cast<uint64_t>(&p)); }
inline void lidt(const TablePointer& p) { pv::call(pv::Op::kLoadIdt, reinterpret_cast<uint64_t>(&p)); }
inline void ltr(uint16_t selector) { pv::call(pv::Op::kLoadTr, selector); }
#endif

// Model-specific registers and EFER's bits (x86/control.h).
using previrt::x86::kEferLme, previrt::x86::kEferNxe, previrt::x86::kEferSce, previrt::x86::kMsrEfer,
    previrt::x86::kMsrFsBase, previrt::x86::kMsrGsBase, previrt::x86::kMsrKernelGsBase, previrt::x86::kMsrLstar,
    previrt::x86::kMsrSfmask, previrt::x86::kMsrStar;

// Turns the machine off with `status` through the exit port, or halts forever.
[[noreturn]] void power_off(uint8_t status);

}  // namespace guest::cpu
