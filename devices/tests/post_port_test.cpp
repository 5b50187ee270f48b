#include "devices/post_port.h"

#include <gtest/gtest.h>

#include <vector>

#include "devices/port_bus.h"

namespace previrt::devices {
namespace {

TEST(PostPortTest, KeepsAndReportsEachCode) {
    std::vector<uint8_t> codes;
    PostPort post([&](uint8_t code) { codes.push_back(code); });
    PortBus bus;
    ASSERT_TRUE(bus.add(PostPort::kPort, 1, post, "post"));
    EXPECT_EQ(post.code(), 0);
    EXPECT_TRUE(bus.write(0x80, 1, 0x07));
    uint32_t value = 0;
    EXPECT_TRUE(bus.read(0x80, 1, value));
    EXPECT_EQ(value, 0x07u);
    EXPECT_TRUE(bus.write(0x80, 2, 0x1200));  // the low byte
    EXPECT_EQ(post.code(), 0);
    EXPECT_EQ(codes, (std::vector<uint8_t>{0x07, 0x00}));
}

}  // namespace
}  // namespace previrt::devices
