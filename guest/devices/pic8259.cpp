#include "devices/pic8259.h"

#include <stdint.h>

#include "arch/x86_64/interrupts.h"
#include "kernel/spinlock.h"
#include "lib/hwreg.h"

namespace guest::pic {
namespace {

// Each chip has two ports, told apart by its A0 input: A0 = 0 takes ICW1, OCW2
// and OCW3 (by bits D4, D3), A0 = 1 the other ICWs and OCW1, the mask
// (8259A datasheet, "8259A Basic Operation").
constexpr hwreg::PortIo kMaster{0x20};  // IBM PC AT Technical Reference, I/O address map
constexpr hwreg::PortIo kSlave{0xa0};
constexpr unsigned kCascadeIrq = 2;     // the slave's INT is wired to the master's IR2
constexpr unsigned kLinesPerChip = 8;

// ICW1: written to A0 = 0 with D4 set, which is what starts initialisation.
struct Icw1 : hwreg::Register<Icw1, uint8_t> {
    static constexpr uint32_t kOffset = 0;
    HWREG_BIT(0, icw4_needed);
    HWREG_BIT(1, single);           // 0: cascaded, so ICW3 follows
    HWREG_BIT(3, level_triggered);  // 0: edge, as the ISA bus wants
    HWREG_BIT(4, init);             // 1: this is ICW1 (not OCW2/OCW3)
};

// ICW2: the vector of line 0; the chip supplies the low three bits itself.
struct Icw2 : hwreg::Register<Icw2, uint8_t> {
    static constexpr uint32_t kOffset = 1;
    HWREG_FIELD(7, 3, vector_base);
};

// ICW3: on the master, a bit per line that has a slave; on a slave, its ID,
// which is the master line it is wired to.
struct Icw3 : hwreg::Register<Icw3, uint8_t> {
    static constexpr uint32_t kOffset = 1;
    HWREG_FIELD(7, 0, slave_lines);  // the master's reading
    HWREG_FIELD(2, 0, slave_id);     // a slave's reading
};

struct Icw4 : hwreg::Register<Icw4, uint8_t> {
    static constexpr uint32_t kOffset = 1;
    HWREG_BIT(0, mode_8086);  // 1: 8086/8088 mode, the vector comes in one INTA cycle
    HWREG_BIT(1, auto_eoi);   // 0: the dispatcher sends EOI after the handler
    HWREG_BIT(4, special_fully_nested);
};

// OCW1: the interrupt mask register, a set bit masks the line.
struct Imr : hwreg::Register<Imr, uint8_t> {
    static constexpr uint32_t kOffset = 1;
};

// OCW2: D4 = D3 = 0 tell it apart from ICW1 and OCW3.
struct Ocw2 : hwreg::Register<Ocw2, uint8_t> {
    static constexpr uint32_t kOffset = 0;
    HWREG_FIELD(2, 0, level);
    HWREG_FIELD(7, 5, command);
};
constexpr uint8_t kOcw2NonSpecificEoi = 0b001;  // R = 0, SL = 0, EOI = 1

// OCW3: D4 = 0, D3 = 1. The read-register selection stays until changed.
struct Ocw3 : hwreg::Register<Ocw3, uint8_t> {
    static constexpr uint32_t kOffset = 0;
    HWREG_FIELD(1, 0, read_register);
    HWREG_BIT(3, is_ocw3);
};
constexpr uint8_t kReadIsr = 0b11;  // RR = 1, RIS = 1: "Reading the 8259A Status"

// The in-service register, read back from A0 = 0 after OCW3 selected it.
struct Isr : hwreg::Register<Isr, uint8_t> {
    static constexpr uint32_t kOffset = 0;
};

// The masks are kept here so that masking a line costs one port write, not a
// read-modify-write: each port access is an exit when this runs virtualized.
IrqSaveLock lock;
uint8_t master_mask = 0xff;
uint8_t slave_mask = 0xff;

const hwreg::PortIo& chip(unsigned irq) { return irq < kLinesPerChip ? kMaster : kSlave; }

void write_masks() {
    Imr::from_value(master_mask).write_to(kMaster);
    Imr::from_value(slave_mask).write_to(kSlave);
}

}  // namespace

void init() {
    LockGuard g(lock);
    // The writes alternate between the chips, which spaces out the writes to
    // each one as the original parts need, without a delay through port 0x80.
    Icw1 icw1 = Icw1::from_value(0);
    icw1.set_init(1).set_icw4_needed(1).set_single(0).set_level_triggered(0);
    icw1.write_to(kMaster);
    icw1.write_to(kSlave);
    Icw2::from_value(0).set_vector_base(kIrqBase >> 3).write_to(kMaster);
    Icw2::from_value(0).set_vector_base((kIrqBase + kLinesPerChip) >> 3).write_to(kSlave);
    Icw3::from_value(0).set_slave_lines(1u << kCascadeIrq).write_to(kMaster);
    Icw3::from_value(0).set_slave_id(kCascadeIrq).write_to(kSlave);
    Icw4 icw4 = Icw4::from_value(0);
    icw4.set_mode_8086(1).set_auto_eoi(0);
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
    Ocw2 ocw2 = Ocw2::from_value(0);
    ocw2.set_command(kOcw2NonSpecificEoi);
    if (irq >= kLinesPerChip) ocw2.write_to(kSlave);
    ocw2.write_to(kMaster);
}

bool is_spurious(unsigned irq) {
    // 8259A datasheet, "Interrupt Sequence": if the request is gone by the
    // acknowledge, the chip supplies its IR7 vector but sets no ISR bit.
    const unsigned line = irq % kLinesPerChip;
    if (line != 7) return false;
    const hwreg::PortIo& io = chip(irq);
    Ocw3::from_value(0).set_is_ocw3(1).set_read_register(kReadIsr).write_to(io);
    return (Isr::read_from(io).value() & (1u << line)) == 0;
}

}  // namespace guest::pic
