// Drives the PIC pair the way the reference guest's driver
// (guest/devices/pic8259.cpp) and its dispatcher (guest/arch/x86_64/idt.cpp)
// do, through a PortBus that holds it twice, watching the CPU's INTR line.
#include "devices/pic8259.h"

#include <gtest/gtest.h>

#include <vector>

#include "devices/port_bus.h"

namespace previrt::devices {
namespace {

constexpr uint16_t kMasterCmd = 0x20, kMasterData = 0x21, kSlaveCmd = 0xa0, kSlaveData = 0xa1;
constexpr uint8_t kIcw1 = 0x11;  // cascade, edge, ICW4 follows
constexpr uint8_t kIcw1Level = 0x19;
constexpr uint8_t kMasterBase = 0x20, kSlaveBase = 0x28;  // the guest's kIrqBase
constexpr uint8_t kIcw4 = 0x01, kIcw4Aeoi = 0x03, kIcw4Sfnm = 0x11;
constexpr uint8_t kNonSpecificEoi = 0x20, kSpecificEoi = 0x60, kRotateOnEoi = 0xa0, kSetPriority = 0xc0;
constexpr uint8_t kReadIrr = 0x0a, kReadIsr = 0x0b, kPoll = 0x0c, kSetSpecialMask = 0x68;

class PicTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(bus.add(pc::pic8259::kMasterBase, pc::pic8259::kPortsPerChip, pic, "pic master"));
        ASSERT_TRUE(bus.add(pc::pic8259::kSlaveBase, pc::pic8259::kPortsPerChip, pic, "pic slave"));
    }

    uint8_t in(uint16_t port) {
        uint32_t v = 0;
        EXPECT_TRUE(bus.read(port, 1, v));
        return static_cast<uint8_t>(v);
    }
    void out(uint16_t port, uint8_t value) { EXPECT_TRUE(bus.write(port, 1, value)); }

    // guest::pic::init(), write for write.
    void init(uint8_t icw1 = kIcw1, uint8_t master_icw4 = kIcw4, uint8_t slave_icw4 = kIcw4) {
        out(kMasterCmd, icw1);
        out(kSlaveCmd, icw1);
        out(kMasterData, kMasterBase);
        out(kSlaveData, kSlaveBase);
        out(kMasterData, 1 << 2);  // a slave on IR2
        out(kSlaveData, 2);        // which is this slave's ID
        out(kMasterData, master_icw4);
        out(kSlaveData, slave_icw4);
        master_mask = 0xfb;
        slave_mask = 0xff;
        out(kMasterData, master_mask);
        out(kSlaveData, slave_mask);
    }
    void unmask(unsigned irq) {
        if (irq < 8) {
            master_mask = static_cast<uint8_t>(master_mask & ~(1u << irq));
            out(kMasterData, master_mask);
        } else {
            slave_mask = static_cast<uint8_t>(slave_mask & ~(1u << (irq - 8)));
            out(kSlaveData, slave_mask);
        }
    }
    void mask(unsigned irq) {
        if (irq < 8) {
            master_mask = static_cast<uint8_t>(master_mask | 1u << irq);
            out(kMasterData, master_mask);
        } else {
            slave_mask = static_cast<uint8_t>(slave_mask | 1u << (irq - 8));
            out(kSlaveData, slave_mask);
        }
    }
    void eoi(unsigned irq) {
        if (irq >= 8) out(kSlaveCmd, kNonSpecificEoi);
        out(kMasterCmd, kNonSpecificEoi);
    }
    bool is_spurious(unsigned irq) {
        if (irq % 8 != 7) return false;
        uint16_t port = irq < 8 ? kMasterCmd : kSlaveCmd;
        out(port, kReadIsr);
        return (in(port)&0x80) == 0;
    }
    uint8_t isr(uint16_t cmd) {
        out(cmd, kReadIsr);
        return in(cmd);
    }
    uint8_t irr(uint16_t cmd) {
        out(cmd, kReadIrr);
        return in(cmd);
    }
    void pulse(unsigned irq) {
        pic.set_irq(irq, false);
        pic.set_irq(irq, true);
    }

    std::vector<bool> intr;
    Pic8259Pair pic{[this](bool level) { intr.push_back(level); }};
    PortBus bus;
    uint8_t master_mask = 0xff, slave_mask = 0xff;
};

TEST_F(PicTest, GuestInitMasksEverythingButTheCascade) {
    init();
    EXPECT_EQ(in(kMasterData), 0xfb);
    EXPECT_EQ(in(kSlaveData), 0xff);
    for (unsigned irq = 0; irq < 16; ++irq) pic.set_irq(irq, true);
    EXPECT_FALSE(pic.pending());
    EXPECT_TRUE(intr.empty());
    // ICW1 selected IRR for reading: the requests wait there, masked.
    EXPECT_EQ(in(kMasterCmd), 0xfb);
    EXPECT_EQ(in(kSlaveCmd), 0xff);
}

TEST_F(PicTest, TimerTickThroughTheGuestDispatcher) {
    init();
    unmask(0);
    pic.set_irq(0, true);
    EXPECT_TRUE(pic.pending());
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 0);
    EXPECT_FALSE(pic.pending());
    EXPECT_EQ(intr, (std::vector<bool>{true, false}));
    EXPECT_EQ(isr(kMasterCmd), 0x01);
    eoi(0);
    EXPECT_EQ(isr(kMasterCmd), 0x00);
    // The line is still high: edge-triggered, no new request without a new edge.
    EXPECT_FALSE(pic.pending());
    pulse(0);
    EXPECT_TRUE(pic.pending());
}

TEST_F(PicTest, InitNeedsAFreshEdge) {
    pic.set_irq(4, true);
    init();
    unmask(4);
    EXPECT_FALSE(pic.pending());
    pulse(4);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 4);
}

TEST_F(PicTest, FullyNestedPriority) {
    init();
    for (unsigned irq : {1, 3, 4}) unmask(irq);
    pic.set_irq(4, true);
    pic.set_irq(3, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 3);
    EXPECT_FALSE(pic.pending());  // 4 waits behind 3 in service
    pic.set_irq(1, true);
    EXPECT_TRUE(pic.pending());  // 1 outranks 3 and nests
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 1);
    EXPECT_EQ(isr(kMasterCmd), 0x0a);
    EXPECT_EQ(irr(kMasterCmd), 0x10);  // the acknowledge spent the edges of 3 and 1
    eoi(1);                            // non-specific: the highest in service, 1
    EXPECT_EQ(isr(kMasterCmd), 0x08);
    EXPECT_FALSE(pic.pending());
    eoi(3);
    EXPECT_TRUE(pic.pending());
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 4);
}

TEST_F(PicTest, SpecificEoiEndsTheNamedLine) {
    init();
    unmask(1);
    unmask(5);
    pic.set_irq(5, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 5);
    pic.set_irq(1, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 1);
    out(kMasterCmd, kSpecificEoi | 5);
    EXPECT_EQ(isr(kMasterCmd), 0x02);
}

TEST_F(PicTest, MaskHoldsTheRequestInIrr) {
    init();
    pic.set_irq(5, true);
    EXPECT_EQ(irr(kMasterCmd) & 0x20, 0x20);
    EXPECT_FALSE(pic.pending());
    unmask(5);
    EXPECT_TRUE(pic.pending());
    mask(5);
    EXPECT_FALSE(pic.pending());
    unmask(5);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 5);
}

TEST_F(PicTest, SlaveVectorsThroughTheCascade) {
    init();
    unmask(12);
    pic.set_irq(12, true);
    EXPECT_TRUE(pic.pending());
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 4);
    EXPECT_EQ(isr(kMasterCmd), 0x04);
    EXPECT_EQ(isr(kSlaveCmd), 0x10);
    eoi(12);
    EXPECT_EQ(isr(kMasterCmd), 0x00);
    EXPECT_EQ(isr(kSlaveCmd), 0x00);
}

TEST_F(PicTest, CascadeInServiceHoldsBackTheSlaveButNotIrq0) {
    init();
    for (unsigned irq : {0, 8, 12}) unmask(irq);
    pic.set_irq(12, true);
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 4);
    pic.set_irq(8, true);
    EXPECT_FALSE(pic.pending());  // IR2 is in service on the master
    pic.set_irq(0, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 0);
    eoi(0);
    eoi(12);
    EXPECT_TRUE(pic.pending());
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 0);
}

TEST_F(PicTest, SpecialFullyNestedLetsTheSlaveNest) {
    init(kIcw1, kIcw4Sfnm, kIcw4);
    unmask(8);
    unmask(12);
    pic.set_irq(12, true);
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 4);
    pic.set_irq(8, true);
    EXPECT_TRUE(pic.pending());
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 0);
    EXPECT_EQ(isr(kSlaveCmd), 0x11);
}

TEST_F(PicTest, SpuriousIrq7WhenTheRequestWasMasked) {
    init();
    unmask(3);
    pic.set_irq(3, true);
    EXPECT_TRUE(pic.pending());
    mask(3);  // after the CPU saw INTR, before its INTA
    EXPECT_FALSE(pic.pending());
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 7);
    EXPECT_TRUE(is_spurious(7));  // so the guest sends no EOI
    EXPECT_EQ(isr(kMasterCmd), 0x00);
    // A real IRQ 7 is in service and not spurious.
    unmask(7);
    pic.set_irq(7, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 7);
    EXPECT_FALSE(is_spurious(7));
}

TEST_F(PicTest, SpuriousIrq15StillNeedsTheMastersEoi) {
    init();
    unmask(10);
    pic.set_irq(10, true);
    mask(10);  // the slave drops INT, but the master has latched IR2's edge
    EXPECT_TRUE(pic.pending());
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 7);
    EXPECT_TRUE(is_spurious(15));
    EXPECT_EQ(isr(kSlaveCmd), 0x00);
    EXPECT_EQ(isr(kMasterCmd), 0x04);
    eoi(2);  // what the guest's dispatcher does for a spurious IRQ 15
    EXPECT_EQ(isr(kMasterCmd), 0x00);
}

TEST_F(PicTest, AutomaticEoiSetsNoInServiceBit) {
    init(kIcw1, kIcw4Aeoi, kIcw4Aeoi);
    unmask(3);
    unmask(5);
    unmask(9);
    pic.set_irq(3, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 3);
    EXPECT_EQ(isr(kMasterCmd), 0x00);
    pic.set_irq(5, true);
    EXPECT_TRUE(pic.pending());  // nothing in service holds back the lower line
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 5);
    unmask(10);
    pic.set_irq(10, true);
    pic.set_irq(9, true);
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 1);
    EXPECT_TRUE(pic.pending());  // the slave's INT never fell, and IR2 takes its next request
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 2);
    EXPECT_FALSE(pic.pending());
    EXPECT_EQ(isr(kMasterCmd), 0x00);
    EXPECT_EQ(isr(kSlaveCmd), 0x00);
}

TEST_F(PicTest, LevelTriggeredIrrFollowsTheLine) {
    init(kIcw1Level);
    unmask(5);
    pic.set_irq(5, true);
    pic.set_irq(5, false);
    EXPECT_EQ(irr(kMasterCmd), 0x00);
    EXPECT_FALSE(pic.pending());
    pic.set_irq(5, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 5);
    eoi(5);
    EXPECT_TRUE(pic.pending());  // still high: the request is still there
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 5);
    pic.set_irq(5, false);
    eoi(5);
    EXPECT_FALSE(pic.pending());
}

TEST_F(PicTest, ReadRegisterSelectionStays) {
    init();
    unmask(1);
    pic.set_irq(1, true);
    pic.set_irq(6, true);
    EXPECT_EQ(in(kMasterCmd), 0x42);  // IRR after ICW1
    pic.acknowledge();
    out(kMasterCmd, kReadIsr);
    EXPECT_EQ(in(kMasterCmd), 0x02);
    EXPECT_EQ(in(kMasterCmd), 0x02);
    EXPECT_EQ(in(kMasterData), master_mask);  // A0 = 1 is the mask whatever OCW3 chose
    out(kMasterCmd, kReadIrr);
    EXPECT_EQ(in(kMasterCmd), 0x40);
}

TEST_F(PicTest, PollAcknowledgesOnRead) {
    init();
    unmask(6);
    pic.set_irq(6, true);
    out(kMasterCmd, kPoll);
    EXPECT_EQ(in(kMasterCmd), 0x86);
    EXPECT_FALSE(pic.pending());
    EXPECT_EQ(isr(kMasterCmd), 0x40);
    out(kMasterCmd, kPoll);
    EXPECT_EQ(in(kMasterCmd), 0x00);  // nothing requested
}

TEST_F(PicTest, RotationMovesTheLowestPriority) {
    init();
    for (unsigned irq : {0, 1, 3}) unmask(irq);
    pic.set_irq(1, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 1);
    out(kMasterCmd, kRotateOnEoi);  // 1 ends and becomes the lowest: 2 is now the highest
    EXPECT_EQ(isr(kMasterCmd), 0x00);
    pic.set_irq(0, true);
    pic.set_irq(3, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 3);
    eoi(3);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 0);
    eoi(0);
    out(kMasterCmd, kSetPriority | 7);  // back to IR0 first
    pulse(3);
    pulse(0);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 0);
}

TEST_F(PicTest, SpecialMaskModeEnablesLowerLines) {
    init();
    unmask(3);
    unmask(5);
    pic.set_irq(3, true);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 3);
    pic.set_irq(5, true);
    EXPECT_FALSE(pic.pending());
    out(kMasterCmd, kSetSpecialMask);
    mask(3);  // the handler masks its own line
    EXPECT_TRUE(pic.pending());
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 5);
}

TEST_F(PicTest, IgnoresTheCascadeLineAndLinesPast15) {
    init();
    unmask(2);
    pic.set_irq(2, true);
    pic.set_irq(16, true);
    EXPECT_FALSE(pic.pending());
    EXPECT_TRUE(intr.empty());
}

}  // namespace
}  // namespace previrt::devices
