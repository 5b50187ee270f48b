#include "devices/pic8259.h"

#include <stdint.h>

#include "arch/x86_64/interrupts.h"
#include "kernel/spinlock.h"
#include "lib/port_io.h"
#include "pc/pic8259.h"

namespace guest::pic {
namespace {

using namespace previrt::pc::pic8259;

constexpr PortIo kMaster{kMasterBase};
constexpr PortIo kSlave{kSlaveBase};

// The masks are kept here so that masking a line costs one port write, not a
// read-modify-write: each port access is an exit when this runs virtualized.
IrqSaveLock lock;
uint8_t master_mask = 0xff;
uint8_t slave_mask = 0xff;

const PortIo& chip(unsigned irq) { return irq < kLinesPerChip ? kMaster : kSlave; }

void write_masks() {
    Imr::from_value(master_mask).write_to(kMaster);
    Imr::from_value(slave_mask).write_to(kSlave);
}

}  // namespace

void init() {
    LockGuard g(lock);
    // The writes alternate between the chips, which spaces out the writes to
    // each one as the original parts need, without a delay through port 0x80.
    Icw1 icw1 = Icw1::from_value(0)
                    .set(Icw1::kInit, 1)
                    .set(Icw1::kNeedIcw4, 1)
                    .set(Icw1::kSingle, 0)
                    .set(Icw1::kLevelTriggered, 0);
    icw1.write_to(kMaster);
    icw1.write_to(kSlave);
    Icw2::from_value(0).set(Icw2::kVectorBase, kIrqBase >> 3).write_to(kMaster);
    Icw2::from_value(0).set(Icw2::kVectorBase, (kIrqBase + kLinesPerChip) >> 3).write_to(kSlave);
    Icw3::from_value(0).set(Icw3::kSlaveLines, 1u << kCascadeIrq).write_to(kMaster);
    Icw3::from_value(0).set(Icw3::kSlaveId, kCascadeIrq).write_to(kSlave);
    // No automatic EOI: the dispatcher sends it after the handler.
    Icw4 icw4 = Icw4::from_value(0).set(Icw4::kMode8086, 1).set(Icw4::kAutoEoi, 0);
    icw4.write_to(kMaster);
    icw4.write_to(kSlave);

    master_mask = static_cast<uint8_t>(0xff & ~(1u << kCascadeIrq));
    slave_mask = 0xff;
    write_masks();
}

void unmask(unsigned irq) {
    if (irq >= 2 * kLinesPerChip) return;
    LockGuard g(lock);
    if (irq < kLinesPerChip) {
        master_mask = static_cast<uint8_t>(master_mask & ~(1u << irq));
        Imr::from_value(master_mask).write_to(kMaster);
    } else {
        slave_mask = static_cast<uint8_t>(slave_mask & ~(1u << (irq - kLinesPerChip)));
        Imr::from_value(slave_mask).write_to(kSlave);
    }
}

void mask(unsigned irq) {
    if (irq >= 2 * kLinesPerChip) return;
    LockGuard g(lock);
    if (irq < kLinesPerChip) {
        master_mask = static_cast<uint8_t>(master_mask | (1u << irq));
        Imr::from_value(master_mask).write_to(kMaster);
    } else {
        slave_mask = static_cast<uint8_t>(slave_mask | (1u << (irq - kLinesPerChip)));
        Imr::from_value(slave_mask).write_to(kSlave);
    }
}

void eoi(unsigned irq) {
    // Non-specific EOI clears the highest-priority in-service bit, which is the
    // one being handled: the dispatcher never lets a handler be interrupted.
    Ocw2 ocw2 = Ocw2::from_value(0).set(Ocw2::kCommand, Ocw2::kNonSpecificEoi);
    if (irq >= kLinesPerChip) ocw2.write_to(kSlave);
    ocw2.write_to(kMaster);
}

bool is_spurious(unsigned irq) {
    // 8259A datasheet, "Interrupt Sequence": if the request is gone by the
    // acknowledge, the chip supplies its IR7 vector but sets no ISR bit.
    const unsigned line = irq % kLinesPerChip;
    if (line != kSpuriousLine) return false;
    const PortIo& io = chip(irq);
    // RR = 1, RIS = 1: "Reading the 8259A Status".
    Ocw3::from_value(0).set(Ocw3::kIsOcw3, 1).set(Ocw3::kReadRegister, 1).set(Ocw3::kReadIsr, 1).write_to(io);
    return (Isr::read_from(io).value() & (1u << line)) == 0;
}

}  // namespace guest::pic
