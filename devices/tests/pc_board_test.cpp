// The board description: the PC's ports, each answered by one model.
#include "devices/pc_board.h"

#include <gtest/gtest.h>

namespace previrt::devices::board {
namespace {

TEST(PcBoard, NamesThePcsPortsAndNothingElse) {
    EXPECT_EQ(device_at(0x20), Device::Pic);
    EXPECT_EQ(device_at(0x21), Device::Pic);
    EXPECT_EQ(device_at(0xa1), Device::Pic);
    EXPECT_EQ(device_at(0x43), Device::Pit);
    EXPECT_EQ(device_at(0x61), Device::Pit);
    EXPECT_EQ(device_at(0x3f8), Device::Com1);
    EXPECT_EQ(device_at(0x3ff), Device::Com1);
    EXPECT_EQ(device_at(0xcf8), Device::PciHost);
    EXPECT_EQ(device_at(0xcff), Device::PciHost);
    EXPECT_EQ(device_at(0x71), Device::Cmos);
    EXPECT_EQ(device_at(0xf4), Device::ExitPort);
    EXPECT_EQ(device_at(0x80), Device::Post);
    for (uint16_t port : {0x22, 0x44, 0x60, 0x72, 0x2f8, 0x3f7, 0x400, 0xcf7, 0xd00, 0xffff})
        EXPECT_EQ(device_at(port), Device::None) << port;
}

TEST(PcBoard, RangesDoNotOverlap) {
    for (const PortRange& a : kPorts)
        for (const PortRange& b : kPorts)
            if (&a != &b) {
                EXPECT_TRUE(a.base + a.count <= b.base || b.base + b.count <= a.base) << a.name << " " << b.name;
            }
}

}  // namespace
}  // namespace previrt::devices::board
