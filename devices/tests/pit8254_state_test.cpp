// Saves the timer mid-count, restores the snapshot into a fresh timer on the
// same clock and checks the two cannot be told apart; then restores it from
// any bytes at all and checks that what it does next still makes sense.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "devices/pit8254.h"
#include "devices/tests/hostile_state.h"

namespace previrt::devices {
namespace {

constexpr uint64_t kHz = pc::pit8254::kInputHz;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kOrigin = 1000 * kNsPerSecond;
constexpr uint16_t kCounter0 = 0x40, kCounter1 = 0x41, kCounter2 = 0x42, kControl = 0x43, kPortB = pc::pit8254::kPortB;
constexpr uint16_t kPorts[] = {kCounter0, kCounter1, kCounter2, kControl, kPortB};

uint64_t at_tick(uint64_t ticks) { return kOrigin + (ticks * kNsPerSecond + kHz - 1) / kHz; }

class FakeClock final : public Clock {
public:
    uint64_t now_ns() const override { return ns; }
    uint64_t ns = kOrigin;
};

uint8_t in(Pit8254& pit, uint16_t port) { return static_cast<uint8_t>(pit.read(port, 1)); }
void out(Pit8254& pit, uint16_t port, uint8_t value) { pit.write(port, 1, value); }
void program(Pit8254& pit, uint16_t port, uint8_t control, uint16_t count) {
    out(pit, kControl, control);
    out(pit, port, static_cast<uint8_t>(count));
    out(pit, port, static_cast<uint8_t>(count >> 8));
}

// A timer with channel 0's OUT recorded.
struct RecordedPit {
    explicit RecordedPit(const Clock& clock) : pit([this](bool level) { out0.push_back(level); }, clock) {}
    std::vector<bool> out0;
    Pit8254 pit;
};

// The guest's tick (channel 0, mode 2) and a one-shot on channel 2 (mode 0,
// gated through port B) that the guest times a delay with, some ticks in;
// channel 0 half-way through a latched read, a new count for it waiting for
// the end of its period, channel 2 with a status latched.
void bring_up(Pit8254& pit, FakeClock& clock) {
    program(pit, kCounter0, 0x34, 11932);
    out(pit, kPortB, 0x01);
    program(pit, kCounter2, 0xb0, 30000);
    clock.ns = at_tick(25000);
    pit.update();
    out(pit, kControl, 0x00);  // latch channel 0
    in(pit, kCounter0);
    clock.ns = at_tick(25100);
    program(pit, kCounter0, 0x34, 11932);  // the same rate again
    out(pit, kControl, 0x00);
    in(pit, kCounter0);
    out(pit, kControl, 0xe8);  // read back channel 2's status
}

// What the guest does next, at later and later times, with everything the
// timer says in return: reads, the next event, port B.
std::vector<uint64_t> carry_on(Pit8254& pit, FakeClock& clock) {
    std::vector<uint64_t> seen;
    auto look = [&] {
        seen.push_back(pit.next_event_ns());
        for (uint16_t port : kPorts) seen.push_back(in(pit, port));
        seen.push_back(pit.next_event_ns());
    };
    seen.push_back(pit.next_event_ns());
    for (uint64_t tick : {25200, 35000, 36000, 40000}) {
        clock.ns = at_tick(tick);
        pit.update();
        look();
    }
    out(pit, kControl, 0xda);  // read back the counts of 0 and 2
    look();
    out(pit, kPortB, 0x00);  // channel 2's gate falls and rises: a new one-shot
    clock.ns = at_tick(41000);
    out(pit, kPortB, 0x03);
    out(pit, kCounter2, 0x10);
    out(pit, kCounter2, 0x00);
    program(pit, kCounter0, 0x36, 5000);  // mode 3
    for (uint64_t tick = 41000; tick < 80000; tick += 1777) {
        clock.ns = at_tick(tick);
        if (tick % 2) pit.update();
        look();
    }
    return seen;
}

TEST(PitStateTest, RestoredTimerCarriesOnAsTheSavedOne) {
    FakeClock clock;
    RecordedPit saved(clock), restored(clock);
    bring_up(saved.pit, clock);
    ASSERT_FALSE(saved.out0.empty());
    restored.pit.restore(saved.pit.save());
    EXPECT_TRUE(restored.out0.empty());
    EXPECT_EQ(restored.pit.next_event_ns(), saved.pit.next_event_ns());

    saved.out0.clear();
    FakeClock restored_clock = clock;  // a second clock, with the same origin
    RecordedPit on_own_clock(restored_clock);
    on_own_clock.pit.restore(saved.pit.save());
    std::vector<uint64_t> expected = carry_on(saved.pit, clock);
    clock.ns = restored_clock.ns;
    EXPECT_EQ(carry_on(restored.pit, clock), expected);
    EXPECT_EQ(restored.out0, saved.out0);
    EXPECT_EQ(carry_on(on_own_clock.pit, restored_clock), expected);
    EXPECT_EQ(on_own_clock.out0, saved.out0);
    EXPECT_GT(saved.out0.size(), 4u);
    EXPECT_EQ(state_bytes(restored.pit.save()), state_bytes(saved.pit.save()));
}

// update() after restore() delivers the tick that came due in between, as
// the saved timer would have.
TEST(PitStateTest, UpdateAfterRestoreDeliversTheEdgeDue) {
    FakeClock clock;
    RecordedPit saved(clock), restored(clock);
    program(saved.pit, kCounter0, 0x34, 1000);
    Pit8254::State state = saved.pit.save();
    clock.ns = at_tick(1001);
    restored.pit.restore(state);
    EXPECT_TRUE(restored.out0.empty());
    EXPECT_EQ(restored.pit.next_event_ns(), at_tick(1001));
    restored.pit.update();
    saved.pit.update();
    EXPECT_EQ(restored.out0, std::vector<bool>{true});
    EXPECT_EQ(restored.out0, saved.out0);
    EXPECT_EQ(restored.pit.next_event_ns(), at_tick(2001));
}

TEST(PitStateTest, RestoreThenSaveGivesTheSameBytes) {
    FakeClock clock;
    RecordedPit pit(clock), fresh(clock), other(clock);
    bring_up(pit.pit, clock);
    Pit8254::State state = pit.pit.save();
    fresh.pit.restore(state);
    EXPECT_EQ(state_bytes(fresh.pit.save()), state_bytes(state));
    state = other.pit.save();  // just reset
    fresh.pit.restore(state);
    EXPECT_EQ(state_bytes(fresh.pit.save()), state_bytes(state));
    EXPECT_TRUE(fresh.out0.empty());
}

// Whatever the snapshot held: restore() calls nothing; the normalised state
// restores to itself; OUT changes at every call of the line; after every
// access the next event lies ahead of the clock (a caller that sleeps until
// it and updates never spins), and it comes when the clock reaches it.
TEST(PitStateTest, AnyBytesRestoreToAWorkingTimer) {
    FakeClock real_clock;
    RecordedPit real(real_clock);
    bring_up(real.pit, real_clock);
    std::mt19937_64 rng(8254);
    for (const Pit8254::State& hostile : hostile_states(real.pit.save(), 3000, 8254)) {
        FakeClock clock;
        clock.ns = kOrigin + rng() % (100 * kNsPerSecond);
        RecordedPit p(clock);
        p.pit.restore(hostile);
        ASSERT_TRUE(p.out0.empty());
        Pit8254::State normal = p.pit.save();
        {
            RecordedPit again(clock);
            again.pit.restore(normal);
            ASSERT_EQ(state_bytes(again.pit.save()), state_bytes(normal));
            ASSERT_EQ(again.pit.next_event_ns(), p.pit.next_event_ns());
        }
        bool level = normal.out0;
        auto check = [&] {
            for (size_t i = 0; i < p.out0.size(); ++i) EXPECT_NE(p.out0[i], i == 0 ? level : p.out0[i - 1]);
            uint64_t next = p.pit.next_event_ns();
            EXPECT_TRUE(next == UINT64_MAX || next > clock.ns) << next << " " << clock.ns;
            Pit8254::State s = p.pit.save();
            for (const Pit8254::State::Counter& c : s.counters) {
                constexpr uint32_t kLargest = 65536;  // a BCD count may have digits past 9
                EXPECT_TRUE(!c.armed || (c.n >= 1 && c.n <= kLargest));
                EXPECT_TRUE(!c.has_count || (c.cr >= 1 && c.cr <= kLargest));
                EXPECT_TRUE(!c.reload_pending || (c.next_n >= 1 && c.next_n <= kLargest));
            }
        };
        auto advance = [&](uint64_t ns) {
            clock.ns = ns;
            p.pit.update();
            check();
        };

        // Until the first access or update() the next event may lie behind the clock (update() is late).
        for (uint16_t port : kPorts) in(p.pit, port);
        check();
        advance(clock.ns + 1);
        uint64_t next = p.pit.next_event_ns();
        if (next != UINT64_MAX && next - clock.ns < 10 * kNsPerSecond) {
            size_t edges = p.out0.size();
            advance(next);
            EXPECT_GT(p.out0.size(), edges);
        }
        for (int i = 0; i < 40; ++i) {
            switch (rng() % 4) {
                case 0:
                    out(p.pit, kPorts[rng() % 5], static_cast<uint8_t>(rng()));
                    break;
                case 1:
                    in(p.pit, kPorts[rng() % 5]);
                    break;
                case 2:
                    advance(clock.ns + rng() % (kNsPerSecond / 10));
                    break;
                default:
                    next = p.pit.next_event_ns();
                    if (next != UINT64_MAX && next - clock.ns < 10 * kNsPerSecond) advance(next);
                    break;
            }
            check();
        }
        if (testing::Test::HasFailure()) {
            ADD_FAILURE() << "from the state " << testing::PrintToString(state_bytes(hostile));
            return;
        }
    }
}

}  // namespace
}  // namespace previrt::devices
