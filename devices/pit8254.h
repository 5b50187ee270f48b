// The Intel 8254 programmable interval timer at ports 0x40-0x43, and the AT's
// system control port B at 0x61 through which channel 2's gate is driven and
// its OUT read back. The caller maps both ranges to this one object and wires
// channel 0's OUT to IRQ 0. Manuals: Intel 8254 datasheet, "Control Word
// Format", "Write Operations", "Read Operations" (counter latch, read-back
// command, status byte), "Mode Definitions" (modes 0-5) and "Gate" (Table
// "Gate Pin Operations Summary"); IBM PC AT Technical Reference, system board
// I/O port 61h.
//
// Time is the caller's Clock; every read computes the counters from it. The
// 1.193182 MHz input clock (the 14.31818 MHz crystal divided by 12) is counted
// from the Clock's origin, so a count written between two input clock edges is
// loaded at the next one, as on the chip. Channels 0 and 1 have their gates
// tied high, as on the PC; channel 1 (the AT's refresh timer) drives nothing.
//
// Channel 0's OUT reaches the caller as edges, which is all the ISA bus's
// edge-triggered PIC looks at: each rising edge is a low-high pulse on the
// line, delivered by update() (or by the next port access), and several edges
// since the last delivery become one, as a PC whose interrupts were blocked
// loses ticks. The line stays high between edges except where OUT itself
// stays low through a count (mode 0 until the terminal count, mode 1), so mode
// 3's low half-periods and the one-clock strobes of modes 2, 4 and 5 appear
// only as the pulse.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

#include "devices/byte_port_device.h"
#include "devices/clock.h"
#include "devices/irq_line.h"
#include "pc/pit8254.h"

namespace previrt::devices {

class Pit8254 final : public BytePortDevice {
public:
    // `out0` is channel 0's OUT; `clock` must outlive the timer.
    Pit8254(IrqLine out0, const Clock& clock);

    // Catches up with the clock: delivers channel 0's OUT edge if one came
    // since the last update.
    void update();

    // When channel 0's OUT next rises, for the caller's host timer: the first
    // edge update() has not delivered yet (already past if update() is late),
    // or UINT64_MAX if none is coming (mode 0 past its terminal count, or no
    // count written).
    uint64_t next_event_ns() const;

    // Everything the timer is, as plain bytes another party may write (a
    // snapshot in guest memory, a migration stream). Times are input clock
    // ticks since the Clock's origin: a timer restored from it must be given a
    // Clock with the same origin (on another host, an offset one). Nothing
    // else is state: the gates of channels 0 and 1 are tied high and channel
    // 2's is port B's bit 0.
    struct State {
        struct Counter {
            uint64_t anchor;          // the tick from which the element counts on (while counting)
            uint64_t counted;         // the clocks it had counted by then
            uint64_t null_until;      // the tick the count register reaches the element (status NULL COUNT)
            uint64_t reload_at;       // modes 2 and 3: when a pending reload takes effect,
            uint64_t reload_counted;  // with this many clocks of the new count counted
            uint32_t cr;              // the count register, 1..2^16 once a count was written
            uint32_t n;               // the count the element runs from, 1..2^16 while armed
            uint32_t held;            // the element's value while not armed
            uint32_t next_n;          // the pending reload's count
            uint16_t latched_count;   // as the counter latch command took it, encoded
            uint8_t control;          // control word bits 5-0: RW, M, BCD
            uint8_t lsb;              // the first byte of a two-byte count write
            uint8_t latched_status;
            uint8_t has_count;  // 1: a count was written since the control word
            uint8_t armed;      // 1: the element holds a count
            uint8_t counting;   // 1: clocks reach the element
            uint8_t reload_pending;
            uint8_t write_msb, read_msb;  // the two-byte access flip-flops, 1: MSB next
            uint8_t count_latched, status_latched;
            std::array<uint8_t, 3> reserved;  // zero
        };
        uint64_t last_tick;  // where update() last looked
        std::array<Counter, 3> counters;
        uint8_t port_b;                   // its writable bits 3-0
        uint8_t out0;                     // the level channel 0's OUT line was last driven to
        std::array<uint8_t, 6> reserved;  // zero
    };
    State save() const;
    // Becomes the timer that was saved, OUT line level included, without
    // calling `out0`; update() then delivers what is due as the saved timer
    // would have, and next_event_ns() is right at once. Any bytes are
    // accepted: ticks past the Clock's last (UINT64_MAX ns) become that tick;
    // a count in use (cr with has_count, n while armed, next_n while a reload
    // is pending) of 0 or past 2^16 becomes the modulus; reload_counted is at
    // most next_n while a reload is pending; an access field of 0 in control
    // (the latch command, never a mode) becomes LSB then MSB; port_b keeps its
    // writable bits; a flag is 1 if non-zero. The rest is safe with any value.
    void restore(const State& state);

private:
    // One counter: its counting element is described by how many input clocks
    // it has counted (`counted` up to tick `anchor`, one more per tick after it
    // while counting), so that reading it at any time is arithmetic.
    struct Counter {
        uint8_t control;  // RW, M and BCD as the control word wrote them
        bool gate;

        uint32_t cr = 0;         // the count register: the last count written, 1..modulus
        uint32_t n = 0;          // the count the element runs from
        bool has_count = false;  // a count was written since the control word
        bool armed = false;      // the element holds a count (modes 1 and 5: a trigger came)
        bool counting = false;   // clocks reach the element (the gate, in modes 0, 2, 3, 4)
        uint64_t anchor = 0, counted = 0;
        uint32_t held = 0;        // the element's value while not armed
        uint64_t null_until = 0;  // the tick the count register reaches the element
        // Modes 2 and 3 take a count written while counting at the end of the
        // period (mode 3: the half-period): from tick reload_at the element
        // runs from next_n with reload_counted clocks already counted.
        bool reload_pending = false;
        uint64_t reload_at = 0, reload_counted = 0;
        uint32_t next_n = 0;

        bool write_msb = false, read_msb = false;  // the two-byte access flip-flops
        uint8_t lsb = 0;
        bool count_latched = false, status_latched = false;
        uint16_t latched_count = 0;
        uint8_t latched_status = 0;

        Counter(uint8_t reset_control, bool gate_level) : control(reset_control), gate(gate_level) {}

        unsigned mode() const;
        bool bcd() const;
        uint32_t modulus() const;
        uint64_t clocks(uint64_t t) const;
        uint64_t tick_of(uint64_t clock) const { return anchor + (clock - counted); }
        uint32_t value(uint64_t t) const;
        uint16_t encoded(uint64_t t) const;
        bool out(uint64_t t) const;
        uint64_t next_rise(uint64_t t) const;
        uint64_t rise_after(uint64_t t) const;
        void advance(uint64_t t);
        void start(uint64_t at);
        void program(uint8_t control_word, uint64_t t);
        void write_byte(uint8_t byte, uint64_t t);
        void load(uint32_t written, uint64_t t);
        uint8_t read_byte(uint64_t t);
        void latch_count(uint64_t t);
        void latch_status(uint64_t t);
        void set_gate(bool level, uint64_t t);
        State::Counter save() const;
        void restore(const State::Counter& state, bool gate_level);
    };

    uint8_t read8(uint16_t port) override;
    void write8(uint16_t port, uint8_t value) override;
    uint64_t now() const;
    uint64_t catch_up();
    void write_control(uint8_t value, uint64_t t);

    IrqLevel out0_;
    const Clock& clock_;
    uint64_t last_tick_;  // where update() last looked
    std::array<Counter, 3> counters_;
    uint8_t port_b_ = 0;  // its writable bits
};

static_assert(std::is_trivially_copyable_v<Pit8254::State> && std::is_standard_layout_v<Pit8254::State>);
static_assert(sizeof(Pit8254::State::Counter) == 72 && sizeof(Pit8254::State) == 232);

}  // namespace previrt::devices
