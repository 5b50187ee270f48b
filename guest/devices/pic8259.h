// The 8259A programmable interrupt controller pair of the PC (master at 0x20,
// slave at 0xa0, cascaded on IRQ 2). Intel 8259A datasheet, "Programming the 8259A".
#pragma once

namespace guest::pic {

// Remaps IRQs 0-7 to vectors 0x20-0x27 and 8-15 to 0x28-0x2f, and masks all but the cascade.
void init();
void unmask(unsigned irq);
void mask(unsigned irq);
void eoi(unsigned irq);
// IRQ 7 or 15 without its in-service bit: a spurious interrupt, to be ignored.
bool is_spurious(unsigned irq);

}  // namespace guest::pic
