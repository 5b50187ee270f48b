// Drives the timer the way the reference guest's driver
// (guest/devices/pit8254.cpp) does, through ports 0x40-0x43 and 0x61 on a
// PortBus, with a clock the test advances by hand, watching channel 0's OUT.
#include "devices/pit8254.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "devices/pic8259.h"
#include "devices/port_bus.h"

namespace previrt::devices {
namespace {

constexpr uint64_t kHz = pc::pit8254::kInputHz;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
// A whole second, so that the input clock's ticks are counted from here exactly.
constexpr uint64_t kOrigin = 1000 * kNsPerSecond;

// The first nanosecond at which `ticks` input clocks have passed since kOrigin.
uint64_t at_tick(uint64_t ticks) { return kOrigin + (ticks * kNsPerSecond + kHz - 1) / kHz; }

constexpr uint16_t kCounter0 = 0x40, kCounter2 = 0x42, kControl = 0x43, kPortB = pc::pit8254::kPortB;
// Control words: counter, access (3: LSB then MSB), mode.
constexpr uint8_t kCounter0Mode0 = 0x30, kCounter0Mode2 = 0x34, kCounter0Mode3 = 0x36, kCounter0Mode2Bcd = 0x35;
constexpr uint8_t kCounter0Mode2Lsb = 0x14, kCounter0Mode2Msb = 0x24, kLatchCounter0 = 0x00;
constexpr uint8_t kCounter2Mode0 = 0xb0, kCounter2Mode2 = 0xb4, kCounter2Mode3 = 0xb6;
// Read-back commands: 0xc0 | COUNT# << 5 | STATUS# << 4 | counters << 1.
constexpr uint8_t kReadBackStatus2 = 0xe8, kReadBackBoth2 = 0xc8, kReadBackCounts0And2 = 0xda;
constexpr uint8_t kGate2 = 0x01, kOut2 = 0x20, kRefresh = 0x10;

constexpr uint16_t kGuestTick = (kHz + 50) / 100;  // guest::pit::start_periodic(100)
constexpr uint16_t kGuestWindow = kHz / 100;       // guest::pit's calibration window

class FakeClock final : public Clock {
public:
    uint64_t now_ns() const override { return ns; }
    uint64_t ns = kOrigin;
};

class PitTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(bus.add(pc::pit8254::kBase, pc::pit8254::kPorts, pit, "pit"));
        ASSERT_TRUE(bus.add(pc::pit8254::kPortB, 1, pit, "port b"));
    }

    uint8_t in(uint16_t port) {
        uint32_t v = 0;
        EXPECT_TRUE(bus.read(port, 1, v));
        return static_cast<uint8_t>(v);
    }
    void out(uint16_t port, uint8_t value) { EXPECT_TRUE(bus.write(port, 1, value)); }
    void program(uint16_t port, uint8_t control, uint16_t count) {
        out(kControl, control);
        out(port, static_cast<uint8_t>(count));
        out(port, static_cast<uint8_t>(count >> 8));
    }
    uint16_t read_count(uint16_t port) {
        uint8_t lo = in(port);
        return static_cast<uint16_t>(lo | in(port) << 8);
    }
    bool out2() { return (in(kPortB)&kOut2) != 0; }
    void at(uint64_t ticks) { clock.ns = at_tick(ticks); }

    FakeClock clock;
    std::vector<bool> edges;
    Pit8254 pit{[this](bool level) { edges.push_back(level); }, clock};
    PortBus bus;
};

TEST_F(PitTest, RateGeneratorLikeTheGuestTick) {
    program(kCounter0, kCounter0Mode2, kGuestTick);  // at tick 0: loaded at tick 1
    EXPECT_TRUE(edges.empty());
    EXPECT_EQ(pit.next_event_ns(), at_tick(1 + kGuestTick));
    clock.ns = at_tick(1 + kGuestTick) - 1;
    pit.update();
    EXPECT_TRUE(edges.empty());
    clock.ns = at_tick(1 + kGuestTick);
    pit.update();
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(pit.next_event_ns(), at_tick(1 + 2 * kGuestTick));
    at(1 + 2 * kGuestTick);
    pit.update();
    EXPECT_EQ(edges, (std::vector<bool>{true, false, true}));
}

TEST_F(PitTest, MissedTicksBecomeOneEdge) {
    program(kCounter0, kCounter0Mode2, kGuestTick);
    clock.ns += 55'000'000;  // five periods and a half
    pit.update();
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(pit.next_event_ns(), at_tick(1 + 6 * kGuestTick));
    EXPECT_GT(pit.next_event_ns(), clock.ns);
    pit.update();
    EXPECT_EQ(edges, std::vector<bool>{true});
}

TEST_F(PitTest, CountFollowsTheClock) {
    program(kCounter0, kCounter0Mode2, kGuestTick);
    at(1);
    EXPECT_EQ(read_count(kCounter0), kGuestTick);
    at(1001);
    EXPECT_EQ(read_count(kCounter0), kGuestTick - 1000);
    at(kGuestTick);
    EXPECT_EQ(read_count(kCounter0), 1);
    at(1 + kGuestTick);
    EXPECT_EQ(read_count(kCounter0), kGuestTick);  // reloaded
}

TEST_F(PitTest, LatchHoldsTheCountUntilRead) {
    program(kCounter0, kCounter0Mode2, kGuestTick);
    at(101);
    out(kControl, kLatchCounter0);
    at(5001);
    out(kControl, kLatchCounter0);  // ignored: the first latch is not read yet
    at(6001);
    EXPECT_EQ(read_count(kCounter0), kGuestTick - 100);
    EXPECT_EQ(read_count(kCounter0), kGuestTick - 6000);
}

TEST_F(PitTest, LsbOnlyAndMsbOnlyAccess) {
    out(kControl, kCounter0Mode2Lsb);
    out(kCounter0, 100);
    EXPECT_EQ(pit.next_event_ns(), at_tick(101));
    at(31);
    EXPECT_EQ(in(kCounter0), 70);
    EXPECT_EQ(in(kCounter0), 70);  // no flip-flop: every read is the LSB
    out(kControl, kCounter0Mode2Msb);
    out(kCounter0, 0x10);  // 0x1000, loaded at tick 32
    at(32 + 299);
    EXPECT_EQ(in(kCounter0), (0x1000 - 299) >> 8);
}

TEST_F(PitTest, BcdCounts) {
    out(kControl, kCounter0Mode2Bcd);
    out(kCounter0, 0x00);
    out(kCounter0, 0x10);  // 1000
    EXPECT_EQ(pit.next_event_ns(), at_tick(1001));
    at(2);
    EXPECT_EQ(read_count(kCounter0), 0x0999);
}

// guest::pit::calibrate_tsc_hz(), access for access, with a TSC that counts
// the fake clock's nanoseconds and a microsecond per poll of port B.
TEST_F(PitTest, CalibratesTheTscLikeTheGuest) {
    uint8_t saved = in(kPortB);
    uint8_t idle = saved & 0x0d;  // the writable bits, speaker off
    uint64_t best = 0;
    for (int window = 0; window < 3; ++window) {
        out(kPortB, idle & ~kGate2);
        program(kCounter2, kCounter2Mode0, kGuestWindow);
        clock.ns += 50'000'000;  // a low gate holds the count however long
        EXPECT_FALSE(out2());
        uint64_t start = clock.ns;
        out(kPortB, idle | kGate2);
        while (!out2()) {
            clock.ns += 1000;
            ASSERT_LT(clock.ns - start, kNsPerSecond);
        }
        uint64_t cycles = clock.ns - start;
        if (best == 0 || cycles < best) best = cycles;
    }
    out(kPortB, saved & 0x0f);
    EXPECT_EQ(in(kPortB)&0x0f, saved & 0x0f);
    double hz = static_cast<double>(best) * kHz / kGuestWindow;
    EXPECT_NEAR(hz, 1e9, 1e9 * 2e-4);  // one input clock plus one poll
    EXPECT_TRUE(edges.empty());        // channel 2 has nothing to do with IRQ 0
}

TEST_F(PitTest, Mode0CountsOnlyWhileTheGateIsHigh) {
    program(kCounter2, kCounter2Mode0, 1000);
    at(500);
    EXPECT_EQ(read_count(kCounter2), 1000);
    out(kPortB, kGate2);
    at(800);
    EXPECT_EQ(read_count(kCounter2), 700);
    out(kPortB, 0);
    at(5000);
    EXPECT_EQ(read_count(kCounter2), 700);
    EXPECT_FALSE(out2());
    out(kPortB, kGate2);
    at(5699);
    EXPECT_EQ(read_count(kCounter2), 1);
    EXPECT_FALSE(out2());
    at(5700);
    EXPECT_EQ(read_count(kCounter2), 0);
    EXPECT_TRUE(out2());
    at(5701);
    EXPECT_EQ(read_count(kCounter2), 0xffff);  // counts on; OUT stays high
    EXPECT_TRUE(out2());
}

TEST_F(PitTest, Mode0OneShotOnChannel0) {
    program(kCounter0, kCounter0Mode0, 100);
    EXPECT_TRUE(edges.empty());  // OUT went low, and the line was low already
    EXPECT_EQ(pit.next_event_ns(), at_tick(101));
    at(101);
    pit.update();
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(pit.next_event_ns(), UINT64_MAX);
    at(200);
    out(kCounter0, 50);  // the first byte stops the count and drops OUT
    EXPECT_EQ(edges, (std::vector<bool>{true, false}));
    out(kCounter0, 0);
    EXPECT_EQ(pit.next_event_ns(), at_tick(251));
    at(251);
    pit.update();
    EXPECT_EQ(edges, (std::vector<bool>{true, false, true}));
}

TEST_F(PitTest, ReadBackStatusAndCount) {
    program(kCounter0, kCounter0Mode2, kGuestTick);
    out(kControl, kCounter2Mode0);
    out(kControl, kReadBackStatus2);
    EXPECT_EQ(in(kCounter2), 0x70);  // OUT low, NULL COUNT, LSB-then-MSB, mode 0, binary
    out(kPortB, kGate2);
    program(kCounter2, kCounter2Mode0, 16);
    out(kControl, kReadBackStatus2);
    EXPECT_EQ(in(kCounter2), 0x70);  // the count reaches the element at the next clock
    at(1);
    out(kControl, kReadBackStatus2);
    EXPECT_EQ(in(kCounter2), 0x30);
    at(17);
    out(kControl, kReadBackBoth2);
    EXPECT_EQ(in(kCounter2), 0xb0);  // the status first, OUT high now
    EXPECT_EQ(read_count(kCounter2), 0);
    out(kControl, kReadBackCounts0And2);
    at(1000);
    EXPECT_EQ(read_count(kCounter0), kGuestTick - 16);
    EXPECT_EQ(read_count(kCounter2), 0);
    EXPECT_EQ(read_count(kCounter2), (16 + 0x10000 - 999) % 0x10000);  // live again
}

TEST_F(PitTest, Mode3SquareWave) {
    out(kPortB, kGate2);
    program(kCounter2, kCounter2Mode3, 1000);
    at(1);
    EXPECT_EQ(read_count(kCounter2), 1000);
    EXPECT_TRUE(out2());
    at(11);
    EXPECT_EQ(read_count(kCounter2), 980);  // by two
    at(500);
    EXPECT_TRUE(out2());
    at(501);
    EXPECT_FALSE(out2());
    EXPECT_EQ(read_count(kCounter2), 1000);
    at(1000);
    EXPECT_FALSE(out2());
    at(1001);
    EXPECT_TRUE(out2());
    // An odd count spends the extra clock high.
    program(kCounter2, kCounter2Mode3, 5);  // loaded at 1002
    at(1004);
    EXPECT_TRUE(out2());
    at(1005);
    EXPECT_FALSE(out2());
    at(1006);
    EXPECT_FALSE(out2());
    at(1007);
    EXPECT_TRUE(out2());
    // On channel 0 each period is one edge.
    program(kCounter0, kCounter0Mode3, 1000);  // at 1007: loaded at 1008
    EXPECT_EQ(pit.next_event_ns(), at_tick(2008));
}

TEST_F(PitTest, NewCountWaitsForTheEndOfThePeriod) {
    program(kCounter0, kCounter0Mode2, 1000);  // rises at 1001, 2001, ...
    at(500);
    program(kCounter0, kCounter0Mode2, 1000);  // a control word restarts: loaded at 501
    EXPECT_EQ(pit.next_event_ns(), at_tick(1501));
    at(700);
    out(kCounter0, 300 & 0xff);
    out(kCounter0, 300 >> 8);
    EXPECT_EQ(pit.next_event_ns(), at_tick(1501));
    EXPECT_EQ(read_count(kCounter0), 1000 - 199);
    at(1501);
    pit.update();
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(pit.next_event_ns(), at_tick(1801));
    EXPECT_EQ(read_count(kCounter0), 300);
}

TEST_F(PitTest, RisingGateRestartsMode2) {
    out(kPortB, kGate2);
    program(kCounter2, kCounter2Mode2, 1000);
    at(601);
    EXPECT_EQ(read_count(kCounter2), 400);
    out(kPortB, 0);
    at(700);
    EXPECT_EQ(read_count(kCounter2), 400);
    EXPECT_TRUE(out2());
    out(kPortB, kGate2);  // reloaded at 701
    at(701);
    EXPECT_EQ(read_count(kCounter2), 1000);
    at(1699);
    EXPECT_TRUE(out2());
    at(1700);
    EXPECT_FALSE(out2());  // count 1
    at(1701);
    EXPECT_TRUE(out2());
}

TEST_F(PitTest, Mode1IsAOneShotTheGateTriggers) {
    out(kControl, 0xb2);  // counter 2, LSB then MSB, mode 1
    out(kCounter2, 100);
    out(kCounter2, 0);
    at(10);
    EXPECT_TRUE(out2());  // nothing until the trigger
    out(kPortB, kGate2);  // loaded at 11
    at(110);
    EXPECT_FALSE(out2());
    EXPECT_EQ(read_count(kCounter2), 1);
    at(111);
    EXPECT_TRUE(out2());
    out(kPortB, 0);
    out(kPortB, kGate2);  // retriggered: loaded at 112
    at(211);
    EXPECT_FALSE(out2());
    at(212);
    EXPECT_TRUE(out2());
}

TEST_F(PitTest, Mode4StrobesOnceOnChannel0) {
    out(kControl, 0x38);  // counter 0, LSB then MSB, mode 4
    out(kCounter0, 100);
    out(kCounter0, 0);  // loaded at 1: OUT low for the clock at count 0, tick 101
    EXPECT_TRUE(edges.empty());
    EXPECT_EQ(pit.next_event_ns(), at_tick(102));
    at(102);
    pit.update();
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(pit.next_event_ns(), UINT64_MAX);
}

TEST_F(PitTest, Mode5StrobesAfterEachTrigger) {
    out(kControl, 0xba);  // counter 2, LSB then MSB, mode 5
    out(kCounter2, 10);
    out(kCounter2, 0);
    out(kPortB, kGate2);  // loaded at 1
    at(11);
    EXPECT_FALSE(out2());
    at(12);
    EXPECT_TRUE(out2());
}

TEST_F(PitTest, PortBKeepsItsLowBitsAndTogglesRefresh) {
    out(kPortB, 0xff);
    EXPECT_EQ(in(kPortB)&0xcf, 0x0f);
    uint8_t refresh = in(kPortB)&kRefresh;
    at(18);  // one refresh period of the AT's channel 1
    EXPECT_NE(in(kPortB)&kRefresh, refresh);
    at(36);
    EXPECT_EQ(in(kPortB)&kRefresh, refresh);
}

// Channel 0 wired to the PIC's IRQ 0, both set up as the guest does: each
// tick is one request, and ticks the guest did not take in time are lost.
TEST(PitThroughPicTest, TicksReachTheGuest) {
    FakeClock clock;
    Pic8259Pair pic{IrqLine{}};
    Pit8254 pit{[&pic](bool level) { pic.set_irq(pc::pit8254::kIrq, level); }, clock};
    for (auto [port, value] : {std::pair<uint16_t, uint8_t>{0x20, 0x11},
                               {0xa0, 0x11},
                               {0x21, 0x20},
                               {0xa1, 0x28},
                               {0x21, 0x04},
                               {0xa1, 0x02},
                               {0x21, 0x01},
                               {0xa1, 0x01},
                               {0x21, 0xfa},
                               {0xa1, 0xff}})
        pic.write(port, 1, value);
    pit.write(kControl, 1, kCounter0Mode2);
    pit.write(kCounter0, 1, kGuestTick & 0xff);
    pit.write(kCounter0, 1, kGuestTick >> 8);

    clock.ns = pit.next_event_ns();
    pit.update();
    EXPECT_TRUE(pic.pending());
    clock.ns += 25'000'000;  // two more periods before the guest takes the first
    pit.update();
    EXPECT_EQ(pic.acknowledge(), 0x20);
    pic.write(0x20, 1, 0x20);
    EXPECT_FALSE(pic.pending());
    clock.ns = pit.next_event_ns();
    pit.update();
    EXPECT_EQ(pic.acknowledge(), 0x20);
}

}  // namespace
}  // namespace previrt::devices
