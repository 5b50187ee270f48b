#include "devices/pit8254.h"

#include <algorithm>
#include <utility>

#include "pc/pit8254.h"

namespace previrt::devices {
namespace {

using namespace pc::pit8254;

constexpr uint64_t kNever = UINT64_MAX;
constexpr uint64_t kNsPerSecond = 1'000'000'000;

// What the model holds before the first control word: mode 3, LSB then MSB, as
// a BIOS leaves channel 0, but with no count yet: OUT high, nothing counting.
constexpr uint8_t kResetControl = ControlWord::kAccess.of(ControlWord::kAccessLowThenHigh) | ControlWord::kMode.of(3);

// The AT BIOS runs channel 1 (the refresh request) in mode 2 with a count of
// 18, a request every 15.1 us; this model has no BIOS, so the toggle keeps that rate itself.
constexpr uint64_t kRefreshTicks = 18;

// "Mode Definitions": a count of 0 is the largest, 2^16 in binary and 10^4 in BCD.
constexpr uint32_t kBinaryModulus = 1u << 16, kBcdModulus = 10000;

// Input clock ticks since the Clock's origin, exact for any time: a whole
// second is kInputHz ticks, and the remainder's product fits in 64 bits.
constexpr uint64_t tick_at(uint64_t ns) {
    return ns / kNsPerSecond * kInputHz + ns % kNsPerSecond * kInputHz / kNsPerSecond;
}

// The last tick a Clock can reach. Nothing of a restored timer lies past it,
// so the arithmetic on ticks never wraps.
constexpr uint64_t kLastTick = tick_at(UINT64_MAX);

// The first nanosecond at which tick_at() reaches `tick` (at most kLastTick).
uint64_t ns_at(uint64_t tick) {
    uint64_t rest = tick % kInputHz * kNsPerSecond;
    return tick / kInputHz * kNsPerSecond + (rest + kInputHz - 1) / kInputHz;
}

// Four BCD digits, one per nibble.
uint32_t from_bcd(uint32_t v) {
    return (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 + (v >> 4 & 0xf) * 10 + (v & 0xf);
}
uint16_t to_bcd(uint32_t v) {
    return static_cast<uint16_t>((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

}  // namespace

Pit8254::Pit8254(IrqLine out0, const Clock& clock)
    : out0_(std::move(out0)),
      clock_(clock),
      last_tick_(now()),
      // Channels 0 and 1 have their gates tied high; channel 2's is port B's bit 0, clear at reset.
      counters_{Counter{kResetControl, true}, Counter{kResetControl, true}, Counter{kResetControl, false}} {}

uint64_t Pit8254::now() const { return tick_at(clock_.now_ns()); }

void Pit8254::update() { catch_up(); }

uint64_t Pit8254::next_event_ns() const {
    uint64_t rise = counters_[0].next_rise(last_tick_);
    return rise > kLastTick ? UINT64_MAX : ns_at(rise);
}

Pit8254::State Pit8254::save() const {
    State s{};
    s.last_tick = last_tick_;
    for (unsigned i = 0; i < counters_.size(); ++i) s.counters[i] = counters_[i].save();
    s.port_b = port_b_;
    s.out0 = out0_.level();
    return s;
}

void Pit8254::restore(const State& state) {
    last_tick_ = std::min(state.last_tick, kLastTick);
    port_b_ = state.port_b & PortB::kWritable.mask();
    counters_[0].restore(state.counters[0], true);
    counters_[1].restore(state.counters[1], true);
    counters_[2].restore(state.counters[2], PortB::kTimer2Gate.test(port_b_));
    out0_.restore(state.out0 != 0);
}

// Delivers channel 0's rising edges since the last look as one pulse, then
// moves every counter's pending reload to now. Every port access starts here,
// so a counter's state never runs ahead of what the line has said.
uint64_t Pit8254::catch_up() {
    uint64_t t = std::max(now(), last_tick_);
    if (counters_[0].next_rise(last_tick_) <= t) {
        out0_.set(false);
        out0_.set(true);
    }
    for (Counter& c : counters_) c.advance(t);
    last_tick_ = t;
    return t;
}

uint8_t Pit8254::read8(uint16_t port) {
    uint64_t t = catch_up();
    if (port == kPortB)
        return static_cast<uint8_t>(port_b_ | PortB::kRefresh.of(t / kRefreshTicks % 2) |
                                    PortB::kTimer2Out.of(counters_[2].out(t)));
    unsigned index = static_cast<uint16_t>(port - kBase);
    if (index < counters_.size()) return counters_[index].read_byte(t);
    // The control word register cannot be read ("Read/Write Operations
    // Summary": the bus floats); a wide access that ran past the timer, too.
    return 0xff;
}

void Pit8254::write8(uint16_t port, uint8_t value) {
    uint64_t t = catch_up();
    bool before = counters_[0].out(t);
    unsigned index = static_cast<uint16_t>(port - kBase);
    if (port == kPortB) {
        port_b_ = value & PortB::kWritable.mask();
        counters_[2].set_gate(PortB::kTimer2Gate.test(value), t);
    } else if (index < counters_.size()) {
        counters_[index].write_byte(value, t);
    } else if (index == counters_.size()) {
        write_control(value, t);
    }
    // A control word sets OUT at once, and in mode 0 so does a count: a real
    // level change, not an edge of the running count, so it goes out as is.
    bool after = counters_[0].out(t);
    if (after != before) out0_.set(after);
}

void Pit8254::write_control(uint8_t value, uint64_t t) {
    unsigned select = ControlWord::kCounter.get(value);
    if (select == ControlWord::kSelectReadBack) {
        // A counter already latched keeps its first latch until it is read.
        for (unsigned i = 0; i < counters_.size(); ++i) {
            if (!(ReadBack::kCounters.get(value) & (1u << i))) continue;
            if (!ReadBack::kCountN.test(value)) counters_[i].latch_count(t);
            if (!ReadBack::kStatusN.test(value)) counters_[i].latch_status(t);
        }
    } else if (ControlWord::kAccess.get(value) == ControlWord::kAccessLatch) {
        counters_[select].latch_count(t);
    } else {
        counters_[select].program(value, t);
    }
}

unsigned Pit8254::Counter::mode() const {
    unsigned m = ControlWord::kMode.get(control);
    return m & ControlWord::kModeM1 ? m & ~ControlWord::kModeM2 : m;
}

bool Pit8254::Counter::bcd() const { return ControlWord::kBcd.test(control); }

uint32_t Pit8254::Counter::modulus() const { return bcd() ? kBcdModulus : kBinaryModulus; }

uint64_t Pit8254::Counter::clocks(uint64_t t) const { return counted + (counting && t > anchor ? t - anchor : 0); }

// The counting element. Modes 0, 1, 4 and 5 count down through zero and wrap;
// mode 2 runs N..1 and reloads; mode 3 counts by two through each half-period
// ("Mode 3": an odd count spends one more clock in the high half).
uint32_t Pit8254::Counter::value(uint64_t t) const {
    if (!armed) return held;
    uint64_t c = clocks(t);
    switch (mode()) {
        case 2:
            return static_cast<uint32_t>(n - c % n);
        case 3: {
            uint64_t phase = c % n, high = (n + 1) / 2;
            uint64_t step = phase < high ? phase : phase - high;
            return static_cast<uint32_t>((n & ~1u) - 2 * step);
        }
        default:
            return static_cast<uint32_t>((n + modulus() - c % modulus()) % modulus());
    }
}

uint16_t Pit8254::Counter::encoded(uint64_t t) const {
    uint32_t v = value(t) % modulus();
    return bcd() ? to_bcd(v) : static_cast<uint16_t>(v);
}

// "Mode Definitions": a control word leaves OUT low in mode 0, high in the
// others; then mode 0 and mode 1 (after its trigger) hold it low until the
// count reaches zero, mode 2 drops it for the clock at count 1, mode 3 for the
// second half of each period, modes 4 and 5 for the clock at count 0. A low
// gate forces it high in modes 2 and 3.
bool Pit8254::Counter::out(uint64_t t) const {
    if (!armed) return mode() != 0;
    uint64_t c = clocks(t);
    switch (mode()) {
        case 0:
        case 1:
            return c >= n;
        case 2:
            return !counting || n < 2 || c % n != n - 1;
        case 3:
            return !counting || c % n < (n + 1) / 2;
        default:
            return c != n;
    }
}

// The first tick after `t` at which OUT rises, with the count as it stands.
uint64_t Pit8254::Counter::rise_after(uint64_t t) const {
    if (!armed || !counting) return kNever;
    uint64_t c = clocks(t);
    switch (mode()) {
        case 0:
        case 1:
            return c < n ? tick_of(n) : kNever;
        case 2:
        case 3:
            return tick_of((c / n + 1) * n);
        default:
            return c <= n ? tick_of(n + 1) : kNever;
    }
}

// As rise_after(), but with a pending reload: in mode 3 a count taken at the
// end of a high half starts in its low half, which ends in the rise.
uint64_t Pit8254::Counter::next_rise(uint64_t t) const {
    uint64_t rise = rise_after(t);
    if (!reload_pending || rise <= reload_at) return rise;
    return reload_at + (next_n - reload_counted);
}

void Pit8254::Counter::advance(uint64_t t) {
    if (!reload_pending || t < reload_at) return;
    n = next_n;
    counted = reload_counted;
    anchor = reload_at;
    reload_pending = false;
}

// The count register reaches the element at tick `at`, and counting starts
// from it there ("Mode Definitions": on the clock after the write, or after a
// trigger).
void Pit8254::Counter::start(uint64_t at) {
    n = cr;
    armed = true;
    unsigned m = mode();
    counting = m == 1 || m == 5 || gate;
    counted = 0;
    anchor = at;
    reload_pending = false;
    null_until = at;
}

// "Write Operations": a control word resets the counter's logic and the
// byte order; the counter waits for a count, with NULL COUNT set.
void Pit8254::Counter::program(uint8_t control_word, uint64_t t) {
    held = value(t);  // what a read returns until then is undefined: keep the last count
    control = ControlWord::kProgramming.get(control_word);
    has_count = armed = counting = reload_pending = false;
    null_until = kNever;
    write_msb = read_msb = false;
    count_latched = status_latched = false;
}

void Pit8254::Counter::write_byte(uint8_t byte, uint64_t t) {
    switch (ControlWord::kAccess.get(control)) {
        case ControlWord::kAccessLsb:
            load(byte, t);
            break;
        case ControlWord::kAccessMsb:
            load(uint32_t{byte} << 8, t);
            break;
        default:
            if (write_msb) {
                write_msb = false;
                load(lsb | uint32_t{byte} << 8, t);
                break;
            }
            lsb = byte;
            write_msb = true;
            // "Mode 0": writing the first byte stops the count and sets OUT low at once.
            if (mode() == 0 && armed) {
                held = value(t);
                armed = false;
            }
            break;
    }
}

void Pit8254::Counter::load(uint32_t written, uint64_t t) {
    uint32_t count = bcd() ? from_bcd(written) : written;
    cr = count == 0 ? modulus() : count;
    has_count = true;
    switch (mode()) {
        case 1:
        case 5:
            null_until = kNever;  // the count waits for the next trigger
            break;
        case 2:
        case 3:
            if (armed && counting && t >= anchor) {
                // "Mode 2", "Mode 3": a new count does not disturb the current
                // period (mode 3: half-period); it is loaded at its end.
                uint64_t c = clocks(t), start_of_period = c - c % n;
                bool high_half = mode() == 3 && c % n < (n + 1) / 2;
                reload_at = tick_of(start_of_period + (high_half ? (n + 1) / 2 : n));
                reload_counted = high_half ? (cr + 1) / 2 : 0;
                next_n = cr;
                reload_pending = true;
                null_until = reload_at;
                break;
            }
            start(t + 1);
            break;
        default:
            start(t + 1);
            break;
    }
}

// "Read Operations": a latched status comes first, then a latched count, else
// the count as it is now; a two-byte read takes the LSB first.
uint8_t Pit8254::Counter::read_byte(uint64_t t) {
    if (status_latched) {
        status_latched = false;
        return latched_status;
    }
    uint16_t v = count_latched ? latched_count : encoded(t);
    auto lo = static_cast<uint8_t>(v), hi = static_cast<uint8_t>(v >> 8);
    switch (ControlWord::kAccess.get(control)) {
        case ControlWord::kAccessLsb:
            count_latched = false;
            return lo;
        case ControlWord::kAccessMsb:
            count_latched = false;
            return hi;
        default:
            read_msb = !read_msb;
            if (read_msb) return lo;
            count_latched = false;
            return hi;
    }
}

void Pit8254::Counter::latch_count(uint64_t t) {
    if (count_latched) return;  // "Counter Latch Command": a second latch before the read is ignored
    latched_count = encoded(t);
    count_latched = true;
}

void Pit8254::Counter::latch_status(uint64_t t) {
    if (status_latched) return;
    latched_status = static_cast<uint8_t>(control | Status::kOut.of(out(t)) | Status::kNullCount.of(t < null_until));
    status_latched = true;
}

// "Gate" (Gate Pin Operations Summary): modes 0 and 4 count only while the
// gate is high; in modes 2 and 3 a low gate stops the count and forces OUT
// high, and a rising gate reloads; in modes 1 and 5 only the rising edge
// counts, as the trigger.
void Pit8254::Counter::set_gate(bool level, uint64_t t) {
    if (level == gate) return;
    gate = level;
    switch (mode()) {
        case 0:
        case 4:
            if (!armed) break;
            counted = clocks(t);
            counting = level;
            anchor = level ? std::max(anchor, t) : t;
            break;
        case 2:
        case 3:
            if (level) {
                if (has_count) start(t + 1);
            } else if (armed) {
                counted = clocks(t);
                counting = false;
                if (reload_pending) null_until = kNever;  // the reload waits for the gate now
                reload_pending = false;
            }
            break;
        default:
            if (level && has_count) start(t + 1);
            break;
    }
}

Pit8254::State::Counter Pit8254::Counter::save() const {
    State::Counter s{};
    s.anchor = anchor;
    s.counted = counted;
    s.null_until = null_until;
    s.reload_at = reload_at;
    s.reload_counted = reload_counted;
    s.cr = cr;
    s.n = n;
    s.held = held;
    s.next_n = next_n;
    s.latched_count = latched_count;
    s.control = control;
    s.lsb = lsb;
    s.latched_status = latched_status;
    s.has_count = has_count;
    s.armed = armed;
    s.counting = counting;
    s.reload_pending = reload_pending;
    s.write_msb = write_msb;
    s.read_msb = read_msb;
    s.count_latched = count_latched;
    s.status_latched = status_latched;
    return s;
}

// Every division is by n or the modulus, and every tick difference is taken
// from a later tick, as long as a count in use lies in 1..2^16 and ticks stay
// below kLastTick; the rest of the state is safe with any value. (A BCD count
// may exceed its modulus: the chip takes digits past 9, 0xffff being 16665.)
void Pit8254::Counter::restore(const State::Counter& s, bool gate_level) {
    control = ControlWord::kProgramming.get(s.control);
    if (ControlWord::kAccess.get(control) == ControlWord::kAccessLatch)
        control = ControlWord::kAccess.set(control, ControlWord::kAccessLowThenHigh);
    gate = gate_level;
    has_count = s.has_count;
    armed = s.armed;
    counting = s.counting;
    reload_pending = s.reload_pending;
    auto in_use = [m = modulus()](uint32_t count, bool used) {
        return used && (count == 0 || count > kBinaryModulus) ? m : count;
    };
    cr = in_use(s.cr, has_count);
    n = in_use(s.n, armed);
    next_n = in_use(s.next_n, reload_pending);
    held = s.held;
    anchor = std::min(s.anchor, kLastTick);
    counted = std::min(s.counted, kLastTick);
    null_until = s.null_until;
    reload_at = std::min(s.reload_at, kLastTick);
    reload_counted = reload_pending ? std::min<uint64_t>(s.reload_counted, next_n) : s.reload_counted;
    write_msb = s.write_msb;
    read_msb = s.read_msb;
    lsb = s.lsb;
    count_latched = s.count_latched;
    status_latched = s.status_latched;
    latched_count = s.latched_count;
    latched_status = s.latched_status;
}

}  // namespace previrt::devices
