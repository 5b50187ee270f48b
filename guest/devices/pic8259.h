// The PC's two cascaded Intel 8259A programmable interrupt controllers: the
// master at ports 0x20-0x21 takes IRQ 0-7, the slave at 0xa0-0xa1 takes
// IRQ 8-15 and signals the master on its IRQ 2.
// Manual: Intel 8259A/8259A-2 datasheet, "Initialization Command Words" and
// "Operation Command Words"; the PC wiring is the IBM PC AT Technical Reference's.
#pragma once

namespace guest::pic {

// Remaps the master to vectors 0x20-0x27 and the slave to 0x28-0x2f (so they do
// not collide with the processor's exceptions), and masks every line but the
// cascade. Call with interrupts disabled, before the first unmask.
void init();

void unmask(unsigned irq);
void mask(unsigned irq);

// End of interrupt for `irq`: the slave first, then the master, for IRQ 8-15.
void eoi(unsigned irq);

// For IRQ 7 and 15 only: true if the controller raised the vector without an
// in-service bit (a request that went away before the acknowledge). A spurious
// interrupt must not be acknowledged on its own chip; a spurious IRQ 15 still
// needs an EOI for IRQ 2 on the master, which did see the cascade.
bool is_spurious(unsigned irq);

}  // namespace guest::pic
