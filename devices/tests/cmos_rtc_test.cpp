// Reads and sets the clock as a kernel's RTC driver does, and the memory size
// bytes as firmware does, through the index and data ports.
#include "devices/cmos_rtc.h"

#include <gtest/gtest.h>

namespace previrt::devices {
namespace {

constexpr std::time_t kLeapDay = 1709214330;  // 2024-02-29 13:45:30 UTC, a Thursday
constexpr uint64_t kMiB = 1 << 20;

class CmosRtcTest : public ::testing::Test {
protected:
    uint8_t get(uint8_t index) {
        rtc.write(pc::cmos::kIndexPort, 1, index);
        return static_cast<uint8_t>(rtc.read(pc::cmos::kDataPort, 1));
    }
    void put(uint8_t index, uint8_t value) {
        rtc.write(pc::cmos::kIndexPort, 1, index);
        rtc.write(pc::cmos::kDataPort, 1, value);
    }

    std::time_t clock = kLeapDay;
    CmosRtc rtc{512 * kMiB, [this] { return clock; }};
};

TEST_F(CmosRtcTest, TimeInBcd) {
    EXPECT_EQ(get(0x00), 0x30);
    EXPECT_EQ(get(0x02), 0x45);
    EXPECT_EQ(get(0x04), 0x13);
    EXPECT_EQ(get(0x06), 0x05);  // Sunday is 1
    EXPECT_EQ(get(0x07), 0x29);
    EXPECT_EQ(get(0x08), 0x02);
    EXPECT_EQ(get(0x09), 0x24);
    EXPECT_EQ(get(0x32), 0x20);
    clock += 30;
    EXPECT_EQ(get(0x00), 0x00);
    EXPECT_EQ(get(0x02), 0x46);
}

TEST_F(CmosRtcTest, CenturyRollover) {
    clock = 946684799;  // 1999-12-31 23:59:59, a Friday
    EXPECT_EQ(get(0x09), 0x99);
    EXPECT_EQ(get(0x32), 0x19);
    EXPECT_EQ(get(0x06), 0x06);
    clock += 1;
    EXPECT_EQ(get(0x09), 0x00);
    EXPECT_EQ(get(0x32), 0x20);
    EXPECT_EQ(get(0x08), 0x01);
    EXPECT_EQ(get(0x07), 0x01);
    EXPECT_EQ(get(0x04), 0x00);
}

TEST_F(CmosRtcTest, StatusRegisters) {
    EXPECT_EQ(get(0x0a), 0x26);  // UIP clear
    EXPECT_EQ(get(0x0b), 0x02);  // 24-hour, BCD
    EXPECT_EQ(get(0x0c), 0x00);
    EXPECT_EQ(get(0x0d), 0x80);  // valid RAM and time
    put(0x0a, 0xa6);
    EXPECT_EQ(get(0x0a), 0x26);  // UIP is read-only
    put(0x0d, 0x00);
    EXPECT_EQ(get(0x0d), 0x80);
}

TEST_F(CmosRtcTest, NmiBitOfTheIndexIsIgnored) {
    rtc.write(pc::cmos::kIndexPort, 1, 0x80 | 0x04);
    EXPECT_EQ(rtc.read(pc::cmos::kDataPort, 1), 0x13u);
    EXPECT_EQ(rtc.read(pc::cmos::kIndexPort, 1), 0xffu);
}

TEST_F(CmosRtcTest, BinaryAnd12HourModes) {
    put(0x0b, 0x06);  // binary, 24-hour
    EXPECT_EQ(get(0x00), 30);
    EXPECT_EQ(get(0x04), 13);
    EXPECT_EQ(get(0x09), 24);
    put(0x0b, 0x00);             // BCD, 12-hour
    EXPECT_EQ(get(0x04), 0x81);  // 1 PM
    clock -= 13 * 3600;          // 00:45
    EXPECT_EQ(get(0x04), 0x12);  // 12 AM
}

TEST_F(CmosRtcTest, MemorySizeRegisters) {
    EXPECT_EQ(get(0x15) | get(0x16) << 8, 640);
    EXPECT_EQ(get(0x30) | get(0x31) << 8, 0xffff);  // 511 MiB in KiB, capped
    EXPECT_EQ(get(0x17) | get(0x18) << 8, 0xffff);
    EXPECT_EQ(get(0x34) | get(0x35) << 8, 496 * 16);  // 64 KiB units above 16 MiB

    CmosRtc small(8 * kMiB, [] { return std::time_t{0}; });
    auto get_small = [&](uint8_t index) {
        small.write(pc::cmos::kIndexPort, 1, index);
        return small.read(pc::cmos::kDataPort, 1);
    };
    EXPECT_EQ(get_small(0x30) | get_small(0x31) << 8, 7u * 1024);
    EXPECT_EQ(get_small(0x34) | get_small(0x35) << 8, 0u);
}

TEST_F(CmosRtcTest, RamReadsBackWhatWasWritten) {
    put(0x0e, 0x11);
    put(0x40, 0x22);
    put(0x7f, 0x33);
    put(0x01, 0x44);  // the seconds alarm: plain RAM here
    EXPECT_EQ(get(0x0e), 0x11);
    EXPECT_EQ(get(0x40), 0x22);
    EXPECT_EQ(get(0x7f), 0x33);
    EXPECT_EQ(get(0x01), 0x44);
}

TEST_F(CmosRtcTest, SettingTheTimeUnderSet) {
    put(0x0b, 0x82);
    clock += 100;  // the clock is stopped while SET is on
    EXPECT_EQ(get(0x00), 0x30);
    // 2025-03-31 00:00:00, written day before month from February.
    put(0x00, 0x00);
    put(0x02, 0x00);
    put(0x04, 0x00);
    put(0x07, 0x31);
    EXPECT_EQ(get(0x07), 0x31);  // what was written, even if February has no 31st
    put(0x08, 0x03);
    put(0x09, 0x25);
    put(0x0b, 0x02);
    EXPECT_EQ(get(0x07), 0x31);
    EXPECT_EQ(get(0x08), 0x03);
    EXPECT_EQ(get(0x09), 0x25);
    EXPECT_EQ(get(0x06), 0x02);  // a Monday
    clock += 61;
    EXPECT_EQ(get(0x00), 0x01);
    EXPECT_EQ(get(0x02), 0x01);
}

TEST_F(CmosRtcTest, WritingOneFieldWhileRunning) {
    put(0x04, 0x09);
    EXPECT_EQ(get(0x04), 0x09);
    EXPECT_EQ(get(0x02), 0x45);
    EXPECT_EQ(get(0x07), 0x29);
    put(0x02, 0x7a);  // not BCD: ignored
    put(0x02, 0x60);  // out of range: ignored
    EXPECT_EQ(get(0x02), 0x45);
}

}  // namespace
}  // namespace previrt::devices
