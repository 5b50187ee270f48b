#include "devices/pic8259.h"

#include <stdint.h>

#include "arch/x86_64/cpu.h"

namespace guest::pic {
namespace {

constexpr uint16_t kMasterCommand = 0x20, kMasterData = 0x21;
constexpr uint16_t kSlaveCommand = 0xa0, kSlaveData = 0xa1;

// Initialization command words (8259A datasheet, figure 6).
constexpr uint8_t kIcw1Init = 0x10;       // ICW1: start initialisation
constexpr uint8_t kIcw1NeedIcw4 = 0x01;   // ICW1: ICW4 follows
constexpr uint8_t kIcw4Mode8086 = 0x01;   // ICW4: 8086/8088 mode
constexpr uint8_t kCascadeIrq = 2;
// Operation command words (figure 8).
constexpr uint8_t kOcw2Eoi = 0x20;        // non-specific end of interrupt
constexpr uint8_t kOcw3ReadIsr = 0x0b;    // next read of the command port returns the ISR

uint16_t masks = 0xffff;

void write_masks() {
    cpu::outb(kMasterData, static_cast<uint8_t>(masks));
    cpu::outb(kSlaveData, static_cast<uint8_t>(masks >> 8));
}

}  // namespace

void init() {
    cpu::outb(kMasterCommand, kIcw1Init | kIcw1NeedIcw4);
    cpu::outb(kSlaveCommand, kIcw1Init | kIcw1NeedIcw4);
    cpu::outb(kMasterData, 0x20);               // ICW2: vector base
    cpu::outb(kSlaveData, 0x28);
    cpu::outb(kMasterData, 1u << kCascadeIrq);  // ICW3: the slave hangs on IRQ 2
    cpu::outb(kSlaveData, kCascadeIrq);         // ICW3: the slave's cascade identity
    cpu::outb(kMasterData, kIcw4Mode8086);
    cpu::outb(kSlaveData, kIcw4Mode8086);
    masks = static_cast<uint16_t>(0xffff & ~(1u << kCascadeIrq));
    write_masks();
}

void unmask(unsigned irq) {
    masks = static_cast<uint16_t>(masks & ~(1u << irq));
    write_masks();
}

void mask(unsigned irq) {
    masks = static_cast<uint16_t>(masks | (1u << irq));
    write_masks();
}

void eoi(unsigned irq) {
    if (irq >= 8) cpu::outb(kSlaveCommand, kOcw2Eoi);
    cpu::outb(kMasterCommand, kOcw2Eoi);
}

bool is_spurious(unsigned irq) {
    uint16_t port = irq >= 8 ? kSlaveCommand : kMasterCommand;
    cpu::outb(port, kOcw3ReadIsr);
    return !(cpu::inb(port) & (1u << (irq & 7)));
}

}  // namespace guest::pic
