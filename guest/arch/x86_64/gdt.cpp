#include "arch/x86_64/gdt.h"

#include "arch/x86_64/cpu.h"

namespace guest::gdt {
namespace {

// A code or data segment descriptor (Intel SDM Vol. 3A, 3.4.5). In 64-bit mode
// base and limit are ignored; the access byte and the L bit matter.
struct SegmentDescriptor {
    static constexpr uint64_t kAccessed = 1ull << 40;
    static constexpr uint64_t kWritable = 1ull << 41;  // data: writable; code: readable
    static constexpr uint64_t kCode = 1ull << 43;
    static constexpr uint64_t kNotSystem = 1ull << 44;
    static constexpr uint64_t kPresent = 1ull << 47;
    static constexpr uint64_t kLong = 1ull << 53;
    static constexpr uint64_t kGranularity4K = 1ull << 55;
    static constexpr uint64_t kLimitAll = 0xffffull | (0xfull << 48);

    static constexpr uint64_t dpl(unsigned level) { return uint64_t{level} << 45; }
    static constexpr uint64_t code64(unsigned level) {
        return kLimitAll | kAccessed | kWritable | kCode | kNotSystem | dpl(level) | kPresent | kLong | kGranularity4K;
    }
    static constexpr uint64_t data(unsigned level) {
        return kLimitAll | kAccessed | kWritable | kNotSystem | dpl(level) | kPresent | (1ull << 54) | kGranularity4K;
    }
};

// The 64-bit TSS (Intel SDM Vol. 3A, 8.7).
struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

alignas(16) uint64_t table[7];
alignas(16) Tss tss;
alignas(16) uint8_t double_fault_stack[8192];

}  // namespace

void init() {
    table[0] = 0;
    table[1] = SegmentDescriptor::code64(0);
    table[2] = SegmentDescriptor::data(0);
    table[3] = SegmentDescriptor::data(3);
    table[4] = SegmentDescriptor::code64(3);

    // A 64-bit TSS descriptor takes two slots (Intel SDM Vol. 3A, 8.2.3): type 9,
    // available 64-bit TSS.
    tss.ist[0] = reinterpret_cast<uint64_t>(double_fault_stack + sizeof double_fault_stack);
    tss.iomap_base = sizeof(Tss);  // no I/O permission bitmap: ring 3 gets no ports
    uint64_t base = reinterpret_cast<uint64_t>(&tss);
    uint64_t limit = sizeof(Tss) - 1;
    table[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x9ull << 40) | SegmentDescriptor::kPresent |
               (((base >> 24) & 0xff) << 56);
    table[6] = base >> 32;

    cpu::lgdt({sizeof table - 1, reinterpret_cast<uint64_t>(table)});
#ifdef PREVIRT_PARAVIRT
    pv::call(pv::Op::kLoadSegments, kKernelCode, kKernelData);
#else
    // Reload every segment register from the new table; CS through a far return.
    asm volatile(
        "movw %0, %%ds; movw %0, %%es; movw %0, %%ss; xorl %%eax, %%eax; movw %%ax, %%fs; movw %%ax, %%gs\n\t"
        "pushq %1; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
        :
        : "r"(kKernelData), "i"(static_cast<uint64_t>(kKernelCode))
        : "rax", "memory");
#endif
    cpu::ltr(kTss);
}

void set_kernel_stack(uint64_t rsp0) { tss.rsp[0] = rsp0; }

}  // namespace guest::gdt
