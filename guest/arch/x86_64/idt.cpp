// The interrupt descriptor table and the dispatch of every vector: exceptions
// from user mode kill the process, from the kernel they panic; hardware IRQs
// go to their drivers.
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/interrupts.h"
#include "devices/pic8259.h"
#include "kernel/console.h"
#include "kernel/process.h"
#include "kernel/selfcheck.h"

extern "C" const uint64_t interrupt_stubs[48];

namespace guest {
namespace {

// A 64-bit interrupt gate (Intel SDM Vol. 3A, 6.14.1).
struct [[gnu::packed]] Gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attributes;  // present, DPL 0, type 0xE: interrupt gate (IF cleared on entry)
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

constexpr uint8_t kInterruptGate = 0x8e;
constexpr unsigned kVectorPageFault = 14;
constexpr unsigned kVectorDoubleFault = 8;
constexpr unsigned kVectors = 48;

alignas(16) Gate idt[256];
IrqHandler irq_handlers[16];

const char* exception_name(uint64_t v) {
    static const char* const names[] = {"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
                                        "invalid opcode", "device not available", "double fault", "coprocessor",
                                        "invalid TSS", "segment not present", "stack fault",
                                        "general protection fault", "page fault", "reserved", "x87 error",
                                        "alignment check", "machine check", "SIMD error", "virtualization",
                                        "control protection"};
    return v < sizeof names / sizeof *names ? names[v] : "exception";
}

void dump(const InterruptFrame& f) {
    kprintf("  rip %016lx  cs %lx  rflags %016lx  rsp %016lx  ss %lx\n", f.rip, f.cs, f.rflags, f.rsp, f.ss);
    kprintf("  rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n", f.rax, f.rbx, f.rcx, f.rdx);
    kprintf("  rsi %016lx  rdi %016lx  rbp %016lx  cr2 %016lx\n", f.rsi, f.rdi, f.rbp, cpu::read_cr2());
}

}  // namespace

void idt_init() {
    for (unsigned v = 0; v < kVectors; ++v) {
        uint64_t a = interrupt_stubs[v];
        idt[v] = Gate{static_cast<uint16_t>(a), gdt::kKernelCode, static_cast<uint8_t>(v == kVectorDoubleFault),
                      kInterruptGate, static_cast<uint16_t>(a >> 16), static_cast<uint32_t>(a >> 32), 0};
    }
    cpu::lidt({sizeof idt - 1, reinterpret_cast<uint64_t>(idt)});
}

void register_irq(unsigned irq, IrqHandler handler) {
    irq_handlers[irq] = handler;
    pic::unmask(irq);
}

extern "C" void interrupt_dispatch(InterruptFrame* frame) {
    InterruptFrame& f = *frame;
    if (f.vector >= kIrqBase && f.vector < kIrqBase + 16) {
        unsigned irq = static_cast<unsigned>(f.vector - kIrqBase);
        if ((irq == 7 || irq == 15) && pic::is_spurious(irq)) {
            if (irq == 15) pic::eoi(2);  // the master saw a real cascade interrupt
            return;
        }
        uint64_t start = irq == kIrqTimer ? cpu::rdtsc() : 0;
        if (irq_handlers[irq]) irq_handlers[irq](f);
        pic::eoi(irq);
        if (irq == kIrqTimer) account_timer_interrupt(cpu::rdtsc() - start);
        preempt_if_needed();
        return;
    }
    if (f.vector == kVectorPageFault && handle_page_fault(f)) return;
    if (f.from_user()) {
        kill_current_for_fault(f, exception_name(f.vector));
        return;
    }
    kprintf("\nkernel panic: %s (vector %lu, error %lx)\n", exception_name(f.vector), f.vector, f.error_code);
    dump(f);
    panic("unrecoverable exception in the kernel");
}

}  // namespace guest
