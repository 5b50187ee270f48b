#include "devices/exit_port.h"

#include <gtest/gtest.h>

#include <vector>

#include "devices/port_bus.h"

namespace previrt::devices {
namespace {

TEST(ExitPortTest, RecordsTheLowByteOfAWrite) {
    std::vector<uint8_t> exits;
    ExitPort exit_port([&](uint8_t status) { exits.push_back(status); });
    PortBus bus;
    ASSERT_TRUE(bus.add(ExitPort::kBase, ExitPort::kPorts, exit_port, "exit"));
    EXPECT_EQ(ExitPort::kBase, 0xf4);
    EXPECT_FALSE(exit_port.status());

    EXPECT_TRUE(bus.write(0xf4, 4, 0x00001203));
    EXPECT_EQ(exit_port.status(), std::optional<uint8_t>(0x03));
    EXPECT_TRUE(bus.write(0xf4, 1, 0));
    EXPECT_EQ(exit_port.status(), std::optional<uint8_t>(0));
    EXPECT_EQ(exits, (std::vector<uint8_t>{0x03, 0x00}));
}

TEST(ExitPortTest, ReadsAllOnesAndWorksWithoutCallback) {
    ExitPort exit_port;
    EXPECT_EQ(exit_port.read(0xf4, 4), 0xffffffffu);
    EXPECT_FALSE(exit_port.status());
    exit_port.write(0xf5, 2, 0x1ff);
    EXPECT_EQ(exit_port.status(), std::optional<uint8_t>(0xff));
    EXPECT_EQ(exit_port.read(0xf4, 1) & 0xff, 0xffu);
}

}  // namespace
}  // namespace previrt::devices
