// The PC/AT's two cascaded Intel 8259A interrupt controllers: the master at
// ports 0x20-0x21 takes IRQ 0-7, the slave at 0xa0-0xa1 takes IRQ 8-15 and
// drives the master's IR2 with its INT. The caller maps both port pairs to
// this one object. Manual: Intel 8259A/8259A-2 datasheet, "Interrupt Sequence",
// "Initialization Command Words", "Operation Command Words", "Fully Nested
// Mode", "Special Fully Nested Mode", "Automatic End of Interrupt Mode",
// "Special Mask Mode", "Poll Command", "Reading the 8259A Status", "Edge and
// Level Triggered Modes".
//
// An edge-triggered request stays in IRR from its rising edge until the
// acknowledge takes it, even if the input falls before then, as in QEMU's and
// KVM's models: the datasheet's request latch would follow the input down
// until INTA freezes it, but a device model's caller cannot promise to hold a
// line for the nanoseconds the chip needs. Spurious interrupts therefore come
// from masking: a request masked after INT rose (or acknowledge() called with
// INT low) gives the master's IR7 vector, and a slave whose request was masked
// after it reached the master's IR2 gives its own IR7 vector (IRQ 15), in
// either case without an in-service bit on the chip that had nothing to give.
//
// Until its initialisation sequence is complete a chip asserts no INT: the
// vector it would give is not written yet. The vector is always delivered as
// in 8086 mode: the CPU on the other side is an x86 whatever ICW4.uPM says.
#pragma once

#include <cstdint>
#include <type_traits>

#include "devices/byte_port_device.h"
#include "devices/irq_line.h"
#include "pc/pic8259.h"

namespace previrt::devices {

class Pic8259Pair final : public BytePortDevice {
public:
    // `intr` is the master's INT pin, the CPU's INTR input, driven as a level.
    explicit Pic8259Pair(IrqLine intr);

    // Drives the IR input for IRQ `irq` (0-15). IRQ 2 is the slave's INT and
    // nothing else drives it (the AT wires the I/O channel's IRQ 2 pin to IRQ 9),
    // so that and any line past 15 are ignored.
    void set_irq(unsigned irq, bool level);

    // The CPU's INTA cycle: the vector of the highest-priority request, which
    // moves from IRR to ISR (unless in AEOI mode). Call it when pending() is
    // true and the CPU takes the interrupt.
    uint8_t acknowledge();

    // Whether the master asserts INT.
    bool pending() const { return intr_.level(); }

    // Everything the pair is, as plain bytes another party may write (a
    // snapshot in guest memory, a migration stream). Nothing else is state:
    // the master's IR2 input is the slave's INT and INT is a function of the
    // master's registers, so restore() recomputes both.
    struct State {
        struct Chip {
            uint8_t input;  // the IR pins' levels, as last driven
            uint8_t irr;    // the edge-triggered requests
            uint8_t isr, imr;
            uint8_t icw1, icw2, icw3, icw4;        // as last written
            uint8_t next_icw;                      // the ICW the next A0 = 1 write is (2, 3 or 4), or 0: OCW1
            uint8_t initialised;                   // 1 once the ICW sequence is complete
            uint8_t lowest;                        // the line of lowest priority, 0-7
            uint8_t read_isr;                      // 1: A0 = 0 reads ISR, 0: IRR
            uint8_t poll;                          // 1: the next read is a poll
            uint8_t special_mask, rotate_on_aeoi;  // 0 or 1
            uint8_t reserved;                      // zero
        };
        Chip master, slave;
    };
    State save() const;
    // Becomes the pair that was saved, INT included, without calling `intr`.
    // Any bytes are accepted: next_icw other than 2, 3 or 4 becomes 0, a chip
    // still expecting an ICW is not initialised, lowest is taken modulo 8, a
    // flag is 1 if non-zero, the master's IR2 input is set to the slave's INT
    // (without a request), and every other byte is a whole register already.
    void restore(const State& state);

private:
    // One 8259A. The pair owns the wiring between the two.
    class Chip {
    public:
        explicit Chip(bool master) : master_(master) {}

        void set_input(unsigned line, bool level);
        uint8_t read(bool a0);
        void write(bool a0, uint8_t value);

        // The line an INTA would take now, or -1 if none.
        int resolve() const;
        // The INT pin: a request resolve() would take, once initialised.
        bool interrupt() const { return initialised_ && resolve() >= 0; }
        // The INTA (or poll) that takes `line`'s request into service.
        void accept(unsigned line);
        uint8_t vector(unsigned line) const;
        // Whether ICW3 says a slave answers the acknowledge for `line`.
        bool cascades(unsigned line) const;
        State::Chip save() const;
        void restore(const State::Chip& state);

    private:
        void write_icw1(uint8_t value);
        void write_ocw2(uint8_t value);
        void write_ocw3(uint8_t value);
        uint8_t requests() const;
        uint8_t cascade_lines() const;
        int highest_in_service() const;
        unsigned line_at(unsigned priority) const { return (lowest_ + 1 + priority) % 8; }

        bool master_;
        uint8_t input_ = 0;  // the IR pins' levels
        uint8_t irr_ = 0;    // edge-triggered requests; in level mode IRR is input_
        uint8_t isr_ = 0, imr_ = 0;
        uint8_t icw1_ = 0, icw2_ = 0, icw3_ = 0, icw4_ = 0;
        unsigned next_icw_ = 0;  // the ICW the next A0 = 1 write is (2, 3 or 4), or 0: OCW1
        bool initialised_ = false;
        unsigned lowest_ = 7;  // the line of lowest priority, which rotation moves
        bool read_isr_ = false, poll_ = false, special_mask_ = false, rotate_on_aeoi_ = false;
    };

    uint8_t read8(uint16_t port) override;
    void write8(uint16_t port, uint8_t value) override;
    Chip* chip(uint16_t port);
    void update();

    IrqLevel intr_;
    Chip master_{true}, slave_{false};
};

static_assert(std::is_trivially_copyable_v<Pic8259Pair::State> && std::is_standard_layout_v<Pic8259Pair::State>);
static_assert(sizeof(Pic8259Pair::State) == 32);

}  // namespace previrt::devices
