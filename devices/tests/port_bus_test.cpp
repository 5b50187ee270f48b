#include "devices/port_bus.h"

#include <gtest/gtest.h>

#include <vector>

namespace previrt::devices {
namespace {

struct Access {
    uint16_t port;
    unsigned size;
    uint32_t value;
    bool operator==(const Access&) const = default;
};

class Recorder : public PortDevice {
public:
    explicit Recorder(uint32_t answer) : answer_(answer) {}
    uint32_t read(uint16_t port, unsigned size) override {
        reads.push_back({port, size, 0});
        return answer_;
    }
    void write(uint16_t port, unsigned size, uint32_t value) override { writes.push_back({port, size, value}); }

    std::vector<Access> reads, writes;

private:
    uint32_t answer_;
};

TEST(PortBusTest, DispatchesByAbsolutePort) {
    Recorder uart(0x11223344), pci(0xaabbccdd);
    PortBus bus;
    EXPECT_TRUE(bus.add(0x3f8, 8, uart, "com1"));
    EXPECT_TRUE(bus.add(0xcf8, 8, pci, "pci"));
    EXPECT_EQ(bus.find(0x3f8), &uart);
    EXPECT_EQ(bus.find(0x3ff), &uart);
    EXPECT_EQ(bus.find(0x400), nullptr);
    EXPECT_EQ(bus.find(0x3f7), nullptr);
    EXPECT_EQ(bus.name(0xcfc), "pci");
    EXPECT_EQ(bus.name(0x80), "");

    uint32_t value = 0;
    EXPECT_TRUE(bus.read(0x3fd, 1, value));
    EXPECT_EQ(value, 0x44u);  // trimmed to the access
    EXPECT_TRUE(bus.read(0xcfc, 2, value));
    EXPECT_EQ(value, 0xccddu);
    EXPECT_TRUE(bus.read(0xcf8, 4, value));
    EXPECT_EQ(value, 0xaabbccddu);
    EXPECT_TRUE(bus.write(0x3f8, 1, 0x1234));
    EXPECT_EQ(uart.reads, (std::vector<Access>{{0x3fd, 1, 0}}));
    EXPECT_EQ(uart.writes, (std::vector<Access>{{0x3f8, 1, 0x34}}));
    EXPECT_EQ(pci.reads, (std::vector<Access>{{0xcfc, 2, 0}, {0xcf8, 4, 0}}));
}

TEST(PortBusTest, UnclaimedPortsAreReported) {
    Recorder dev(0);
    PortBus bus;
    bus.add(0x70, 2, dev, "cmos");
    uint32_t value = 0;
    EXPECT_FALSE(bus.read(0x72, 1, value));
    EXPECT_EQ(value, 0xffu);
    EXPECT_FALSE(bus.read(0x6f, 4, value));
    EXPECT_EQ(value, 0xffffffffu);
    EXPECT_FALSE(bus.write(0x80, 1, 0));
    EXPECT_FALSE(bus.read(0x70, 3, value));  // no such access size
    EXPECT_TRUE(dev.reads.empty());
    EXPECT_TRUE(dev.writes.empty());
}

TEST(PortBusTest, RefusesOverlapsAndBadRanges) {
    Recorder a(0), b(0);
    PortBus bus;
    EXPECT_TRUE(bus.add(0x60, 1, a, "a"));
    EXPECT_TRUE(bus.add(0x64, 1, a, "a2"));
    EXPECT_FALSE(bus.add(0x5f, 2, b, "overlaps 0x60"));
    EXPECT_FALSE(bus.add(0x64, 1, b, "same port"));
    EXPECT_FALSE(bus.add(0x61, 4, b, "reaches 0x64"));
    EXPECT_TRUE(bus.add(0x61, 3, b, "between"));
    EXPECT_FALSE(bus.add(0x100, 0, b, "empty"));
    EXPECT_FALSE(bus.add(0xfffe, 3, b, "past the end"));
    EXPECT_TRUE(bus.add(0xfffe, 2, b, "up to the end"));
    EXPECT_EQ(bus.find(0xffff), &b);
    EXPECT_EQ(bus.find(0x60), &a);
    EXPECT_EQ(bus.find(0x63), &b);
    EXPECT_EQ(bus.name(0x5f), "");
}

}  // namespace
}  // namespace previrt::devices
