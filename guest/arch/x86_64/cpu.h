// The processor's sensitive operations, one inline function each. Plain
// instructions, written as for bare hardware: the afterburner finds and records
// every one of them when the kernel is built.
#pragma once

#include <stdint.h>

namespace guest::cpu {

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

inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void hlt() { asm volatile("hlt" ::: "memory"); }
// sti; hlt: the interrupt shadow makes the pair atomic, so no wake-up is lost.
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
inline void pause() { asm volatile("pause"); }

inline constexpr uint64_t kFlagIf = 1u << 9;  // Intel SDM Vol. 1, 3.4.3: EFLAGS.IF

inline uint64_t read_flags() {
    uint64_t f;
    asm volatile("pushfq; popq %0" : "=r"(f) : : "memory");
    return f;
}
inline void write_flags(uint64_t f) { asm volatile("pushq %0; popfq" : : "r"(f) : "memory", "cc"); }

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t{hi} << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)));
}

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

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
inline void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
inline void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
inline void invlpg(uint64_t va) { asm volatile("invlpg (%0)" : : "r"(va) : "memory"); }

struct [[gnu::packed]] TablePointer {
    uint16_t limit;
    uint64_t base;
};
inline void lgdt(const TablePointer& p) { asm volatile("lgdt %0" : : "m"(p)); }
inline void lidt(const TablePointer& p) { asm volatile("lidt %0" : : "m"(p)); }
inline void ltr(uint16_t selector) { asm volatile("ltr %0" : : "r"(selector)); }

// Model-specific registers, Intel SDM Vol. 4, table 2-2.
inline constexpr uint32_t kMsrEfer = 0xc0000080;
inline constexpr uint32_t kMsrStar = 0xc0000081;
inline constexpr uint32_t kMsrLstar = 0xc0000082;
inline constexpr uint32_t kMsrSfmask = 0xc0000084;
inline constexpr uint32_t kMsrFsBase = 0xc0000100;
inline constexpr uint32_t kMsrGsBase = 0xc0000101;
inline constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
inline constexpr uint64_t kEferSce = 1u << 0;
inline constexpr uint64_t kEferLme = 1u << 8;
inline constexpr uint64_t kEferNxe = 1u << 11;

// Turns the machine off with `status` through the exit port, or halts forever.
[[noreturn]] void power_off(uint8_t status);

}  // namespace guest::cpu
