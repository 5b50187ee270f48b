// Saves the PIC pair mid-flight, restores the snapshot into a fresh pair and
// checks the two cannot be told apart; then restores it from any bytes at all
// and checks that what it does next still makes sense.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "devices/pic8259.h"
#include "devices/tests/hostile_state.h"

namespace previrt::devices {
namespace {

constexpr uint16_t kMasterCmd = 0x20, kMasterData = 0x21, kSlaveCmd = 0xa0, kSlaveData = 0xa1;
constexpr uint16_t kPorts[] = {kMasterCmd, kMasterData, kSlaveCmd, kSlaveData};
constexpr uint8_t kMasterBase = 0x20, kSlaveBase = 0x28;
constexpr uint8_t kNonSpecificEoi = 0x20, kReadIrr = 0x0a, kReadIsr = 0x0b, kPoll = 0x0c;

uint8_t in(Pic8259Pair& pic, uint16_t port) { return static_cast<uint8_t>(pic.read(port, 1)); }
void out(Pic8259Pair& pic, uint16_t port, uint8_t value) { pic.write(port, 1, value); }

// A pair with its INT recorded.
struct RecordedPic {
    std::vector<bool> intr;
    Pic8259Pair pic{[this](bool level) { intr.push_back(level); }};
};

// The guest's bring-up (ICW1-4 on both chips, then the masks), and a moment
// later: IRQ 4 in service, IRQ 12 requested through the cascade (INT up), IRQ
// 3 requested but masked, IRQ 1 served with its line left high, and the
// master reading back ISR.
void bring_up(Pic8259Pair& pic) {
    out(pic, kMasterCmd, 0x11);
    out(pic, kSlaveCmd, 0x11);
    out(pic, kMasterData, kMasterBase);
    out(pic, kSlaveData, kSlaveBase);
    out(pic, kMasterData, 1 << 2);
    out(pic, kSlaveData, 2);
    out(pic, kMasterData, 0x01);
    out(pic, kSlaveData, 0x01);
    out(pic, kMasterData, 0xe8);  // IRQ 0, 1, 2, 4 open; 3 masked
    out(pic, kSlaveData, 0xee);   // IRQ 8 and 12 open
    pic.set_irq(4, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 4);
    pic.set_irq(4, false);
    pic.set_irq(3, true);
    pic.set_irq(1, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 1);
    out(pic, kMasterCmd, kNonSpecificEoi);
    pic.set_irq(12, true);
    out(pic, kMasterCmd, kReadIsr);
}

// What a guest and its devices do next, with everything the pair says in
// return: reads, vectors and INT.
std::vector<int> carry_on(Pic8259Pair& pic) {
    std::vector<int> seen;
    auto look = [&] {
        seen.push_back(pic.pending());
        for (uint16_t port : kPorts) seen.push_back(in(pic, port));
    };
    look();
    seen.push_back(pic.acknowledge());  // IRQ 12
    look();
    pic.set_irq(1, true);  // no new edge: the line never fell
    pic.set_irq(0, true);
    look();
    seen.push_back(pic.acknowledge());  // IRQ 0, above the two in service
    out(pic, kMasterCmd, kNonSpecificEoi);
    out(pic, kSlaveCmd, kNonSpecificEoi);
    out(pic, kMasterCmd, kNonSpecificEoi);
    out(pic, kMasterData, 0xe0);  // IRQ 3 opens
    look();
    out(pic, kMasterCmd, kPoll);
    seen.push_back(in(pic, kMasterCmd));
    out(pic, kMasterCmd, kReadIrr);
    out(pic, kSlaveCmd, kReadIsr);
    look();
    pic.set_irq(1, false);
    pic.set_irq(1, true);
    pic.set_irq(8, true);
    for (int i = 0; i < 4; ++i) {
        seen.push_back(pic.acknowledge());
        look();
    }
    out(pic, kMasterCmd, 0xc7);  // IR7 lowest: no change, but a command all the same
    out(pic, kMasterCmd, 0xa0);  // rotate on non-specific EOI
    look();
    return seen;
}

TEST(PicStateTest, RestoredPairCarriesOnAsTheSavedOne) {
    RecordedPic saved, restored;
    bring_up(saved.pic);
    ASSERT_TRUE(saved.pic.pending());
    restored.pic.restore(saved.pic.save());
    EXPECT_TRUE(restored.intr.empty());
    EXPECT_TRUE(restored.pic.pending());

    saved.intr.clear();
    EXPECT_EQ(carry_on(restored.pic), carry_on(saved.pic));
    EXPECT_EQ(restored.intr, saved.intr);
    EXPECT_FALSE(saved.intr.empty());
    EXPECT_EQ(state_bytes(restored.pic.save()), state_bytes(saved.pic.save()));
}

TEST(PicStateTest, RestoreThenSaveGivesTheSameBytes) {
    RecordedPic pic, fresh, other;
    bring_up(pic.pic);
    Pic8259Pair::State state = pic.pic.save();
    fresh.pic.restore(state);
    EXPECT_EQ(state_bytes(fresh.pic.save()), state_bytes(state));
    // A pair in the middle of its initialisation, and one just reset.
    out(pic.pic, kMasterCmd, 0x11);
    out(pic.pic, kMasterData, kMasterBase);
    state = pic.pic.save();
    fresh.pic.restore(state);
    EXPECT_EQ(state_bytes(fresh.pic.save()), state_bytes(state));
    state = other.pic.save();
    fresh.pic.restore(state);
    EXPECT_EQ(state_bytes(fresh.pic.save()), state_bytes(state));
    EXPECT_TRUE(fresh.intr.empty());
}

// Whatever the snapshot held: restore() calls nothing; INT is what the state
// says (a second pair restored from the first's state agrees); INT changes at
// every call of the line; every vector is one of the two programmed bases
// plus a line; and the state stays in range through every kind of access.
TEST(PicStateTest, AnyBytesRestoreToAWorkingPair) {
    RecordedPic real;
    bring_up(real.pic);
    std::mt19937 rng(8259);
    for (const Pic8259Pair::State& hostile : hostile_states(real.pic.save(), 3000, 8259)) {
        RecordedPic p;
        p.pic.restore(hostile);
        ASSERT_TRUE(p.intr.empty());
        Pic8259Pair::State normal = p.pic.save();
        {
            RecordedPic again;
            again.pic.restore(normal);
            ASSERT_EQ(state_bytes(again.pic.save()), state_bytes(normal));
            ASSERT_EQ(again.pic.pending(), p.pic.pending());
        }
        bool level = p.pic.pending();
        auto check = [&] {
            for (size_t i = 0; i < p.intr.size(); ++i) EXPECT_NE(p.intr[i], i == 0 ? level : p.intr[i - 1]);
            EXPECT_EQ(p.pic.pending(), p.intr.empty() ? level : p.intr.back());
            Pic8259Pair::State s = p.pic.save();
            for (const Pic8259Pair::State::Chip& c : {s.master, s.slave}) {
                EXPECT_TRUE(c.next_icw == 0 || (c.next_icw >= 2 && c.next_icw <= 4));
                EXPECT_TRUE(!c.initialised || c.next_icw == 0);
                EXPECT_LT(c.lowest, 8);
                EXPECT_LE(c.read_isr | c.poll | c.special_mask | c.rotate_on_aeoi | c.initialised, 1);
            }
            RecordedPic twin;
            twin.pic.restore(s);
            EXPECT_EQ(twin.pic.pending(), p.pic.pending());
        };
        auto acknowledge = [&] {
            Pic8259Pair::State s = p.pic.save();
            uint8_t base = p.pic.acknowledge() & 0xf8;
            EXPECT_TRUE(base == (s.master.icw2 & 0xf8) || base == (s.slave.icw2 & 0xf8));
        };

        for (uint16_t port : kPorts) in(p.pic, port);
        check();
        for (int i = 0; i < 3; ++i) acknowledge();
        check();
        for (unsigned irq = 0; irq < 18; ++irq) p.pic.set_irq(irq, true);
        check();
        acknowledge();
        for (unsigned irq = 0; irq < 18; irq += 2) p.pic.set_irq(irq, false);
        for (int i = 0; i < 40; ++i) {
            switch (rng() % 4) {
                case 0:
                    out(p.pic, kPorts[rng() % 4], static_cast<uint8_t>(rng()));
                    break;
                case 1:
                    in(p.pic, kPorts[rng() % 4]);
                    break;
                case 2:
                    p.pic.set_irq(rng() % 16, rng() % 2);
                    break;
                default:
                    acknowledge();
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
