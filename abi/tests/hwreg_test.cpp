// The register-field mechanism the guest's drivers and the device models
// share, driven as each of them uses it: a model on raw values, a driver
// through an I/O object (here a fake that records the accesses).
#include "pc/hwreg.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "pc/pci.h"
#include "pc/uart16550.h"

namespace previrt::hwreg {
namespace {

struct Status : Register<Status, uint8_t> {
    static constexpr uint32_t kOffset = 5;
    static constexpr Field kReady{0}, kMode{3, 1}, kTop{7}, kAll{7, 0};
};

struct Wide : Register<Wide, uint64_t> {
    static constexpr uint32_t kOffset = 0;
    static constexpr Field kHigh{63, 32}, kAll{63, 0};
};

// A window of registers, every access recorded as (offset, width, value).
struct FakeIo {
    struct Access {
        bool write;
        uint32_t offset;
        unsigned width;
        uint64_t value;
        bool operator==(const Access&) const = default;
    };
    mutable std::vector<Access> log;
    uint64_t next_read = 0;

    template <typename T>
    T read(uint32_t offset) const {
        log.push_back({false, offset, sizeof(T), next_read});
        return static_cast<T>(next_read);
    }
    template <typename T>
    void write(uint32_t offset, T value) const {
        log.push_back({true, offset, sizeof(T), value});
    }
};

TEST(HwregField, MaskGetAndTestByBitRange) {
    EXPECT_EQ(Status::kReady.mask(), 0x01);
    EXPECT_EQ(Status::kMode.mask(), 0x0e);
    EXPECT_EQ(Status::kTop.mask(), 0x80);
    EXPECT_EQ(Status::kAll.mask(), 0xff);
    EXPECT_EQ(Status::kMode.get(0xf5), 0b010);
    EXPECT_TRUE(Status::kTop.test(0x80));
    EXPECT_FALSE(Status::kReady.test(0xfe));
    EXPECT_EQ(Status::kMode.hi(), 3u);
    EXPECT_EQ(Status::kMode.lo(), 1u);
}

TEST(HwregField, SetReplacesOnlyItsBitsAndTruncatesTheValue) {
    EXPECT_EQ(Status::kMode.set(0xff, 0), 0xf1);
    EXPECT_EQ(Status::kMode.set(0x00, 0b101), 0x0a);
    EXPECT_EQ(Status::kMode.set(0x00, 0xff), 0x0e);  // too wide: cut to three bits
    EXPECT_EQ(Status::kReady.of(1) | Status::kTop.of(1), 0x81);
    EXPECT_EQ(Status::kAll.of(0x1ff), 0xff);
}

TEST(HwregField, SixtyFourBitFields) {
    EXPECT_EQ(Wide::kAll.mask(), ~uint64_t{0});
    EXPECT_EQ(Wide::kHigh.mask(), 0xffff'ffff'0000'0000u);
    EXPECT_EQ(Wide::kHigh.get(0x1234'5678'9abc'def0u), 0x1234'5678u);
    EXPECT_EQ(Wide::kHigh.set(0x1234'5678'9abc'def0u, 0x1), 0x0000'0001'9abc'def0u);
}

TEST(HwregField, UsableInConstantExpressions) {
    static_assert(Status::kMode.of(3) == 0x06);
    static_assert(Status::from_value(0).set(Status::kReady, 1).set(Status::kMode, 7).value() == 0x0f);
    static_assert(pc::pci::ConfigAddress::kWritable == 0x80ff'fffc);
}

TEST(HwregRegister, ValueObjectGetsSetsAndChains) {
    Status s = Status::from_value(0x80).set(Status::kMode, 2).set(Status::kReady, true);
    EXPECT_EQ(s.value(), 0x85);
    EXPECT_EQ(s.get(Status::kMode), 2);
    EXPECT_TRUE(s.test(Status::kTop));
    s.set(Status::kTop, 0);
    EXPECT_EQ(s.value(), 0x05);
    EXPECT_EQ(Status{}.value(), 0);  // a register starts at zero
}

TEST(HwregRegister, ReadsAndWritesAtItsOffsetWithItsWidth) {
    FakeIo io;
    io.next_read = 0x0b;
    Status s = Status::read_from(io);
    EXPECT_EQ(s.get(Status::kMode), 0b101);
    s.set(Status::kReady, 0).write_to(io);
    Wide::from_value(uint64_t{1} << 40).write_to(io);
    std::vector<FakeIo::Access> expected = {
        {false, 5, 1, 0x0b},
        {true, 5, 1, 0x0a},
        {true, 0, 8, uint64_t{1} << 40},
    };
    EXPECT_EQ(io.log, expected);
}

// A driver's sequence on the shared UART declarations: the bytes and offsets
// the guest's init writes for 115200 baud 8N1.
TEST(HwregRegister, TheSharedUartRegistersAsADriverWritesThem) {
    using namespace pc::uart16550;
    FakeIo io;
    Lcr::from_value(0).set(Lcr::kDlab, 1).write_to(io);
    Dll::from_value(static_cast<uint8_t>(kBaudBase / 115200)).write_to(io);
    Lcr::from_value(0).set(Lcr::kWordLength, Lcr::kEightBits).write_to(io);
    Mcr::from_value(0).set(Mcr::kDtr, 1).set(Mcr::kRts, 1).set(Mcr::kOut2, 1).write_to(io);
    std::vector<FakeIo::Access> expected = {
        {true, 3, 1, 0x80},
        {true, 0, 1, 0x01},
        {true, 3, 1, 0x03},
        {true, 4, 1, 0x0b},
    };
    EXPECT_EQ(io.log, expected);
}

}  // namespace
}  // namespace previrt::hwreg
