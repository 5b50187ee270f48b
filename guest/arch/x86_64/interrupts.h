// Interrupt and exception entry: the IDT, the register frame every entry stub
// saves, and the dispatch of hardware IRQs to their drivers.
#pragma once

#include <stdint.h>

#include "pc/pit8254.h"
#include "pc/uart16550.h"

namespace guest {

// What the entry stubs push, lowest address first (interrupt_entry.S).
struct InterruptFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;  // zero for vectors without one
    // Pushed by the processor (Intel SDM Vol. 3A, 6.14.1).
    uint64_t rip, cs, rflags, rsp, ss;

    bool from_user() const { return (cs & 3) == 3; }
};
static_assert(sizeof(InterruptFrame) == 22 * 8);

inline constexpr unsigned kIrqBase = 0x20;  // the PICs' vectors, 0x20-0x2f
inline constexpr unsigned kIrqTimer = previrt::pc::pit8254::kIrq;
inline constexpr unsigned kIrqCom1 = previrt::pc::uart16550::kCom1Irq;

using IrqHandler = void (*)(InterruptFrame& frame);

void idt_init();
// Handlers run with interrupts disabled; the dispatcher acknowledges the PIC after.
void register_irq(unsigned irq, IrqHandler handler);

}  // namespace guest
