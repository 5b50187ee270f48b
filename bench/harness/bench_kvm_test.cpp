// What `previrt bench --on kvm` makes of a boot's output: rows paired with
// previrt-vmm's windows by their number, whatever else the lines say.
#include "bench/harness/bench_kvm.h"

#include <gtest/gtest.h>

namespace previrt::bench::kvm {
namespace {

constexpr char kSerial[] =
    "boot: 64-bit entry, command line 'exitbench short'\r\n"
    "# previrt guest exitbench v2: name cycles_per_op iterations; row k between POST codes k and 0\r\n"
    "exitbench port_read 40000 200\r\n"
    "# exitbench console_line: 40 bytes ....\r\n"
    "exitbench console_line 3000000 20\r\n"
    "exitbench broken line\r\n"
    "exitbench done\r\n";

TEST(BenchKvmTest, PairsRowsWithTheirWindows) {
    Boot b = parse_boot(kSerial,
                        "previrt-vmm: KVM without VT-x/AMD-V on this host: a software hypervisor\n"
                        "previrt-vmm: window 1: 200 exits, 1216 guest instructions (0 in the in-place VMM)\n"
                        "previrt-vmm: window 2: 870 exits\n"
                        "previrt-vmm: window 9: 5 exits\n"
                        "previrt-vmm: window zero: 5 exits\n");
    EXPECT_TRUE(b.done);
    EXPECT_EQ(b.kvm_host, "KVM without VT-x/AMD-V on this host");
    ASSERT_EQ(b.rows.size(), 2u);
    EXPECT_EQ(b.rows[0].name, "port_read");
    ASSERT_TRUE(b.rows[0].window);
    EXPECT_EQ(b.rows[0].window->exits, 200u);
    EXPECT_EQ(b.rows[0].window->instructions, 1216u);
    EXPECT_EQ(b.rows[0].window->instructions_in_vmm, 0u);
    EXPECT_EQ(b.rows[1].name, "console_line");
    EXPECT_EQ(b.rows[1].iterations, 20u);
    ASSERT_TRUE(b.rows[1].window);
    EXPECT_EQ(b.rows[1].window->exits, 870u);
    EXPECT_FALSE(b.rows[1].window->instructions);

    Config c{"pre", "pre-virtualized", "guest.elf", {}, true, {b, b}, b};
    auto exits = exits_per_op(c, "console_line");
    ASSERT_TRUE(exits);
    EXPECT_DOUBLE_EQ(exits->median, 43.5);
    EXPECT_DOUBLE_EQ(*instructions_per_op(c, "port_read"), 6.08);
    EXPECT_FALSE(instructions_per_op(c, "console_line"));
    EXPECT_FALSE(exits_per_op(c, "hlt_wakeup"));
}

TEST(BenchKvmTest, AnUnfinishedBootSaysSo) {
    Boot b = parse_boot("exitbench port_read 40000 200\r\n", "previrt-vmm: window 1: 200 exits\n");
    EXPECT_FALSE(b.done);
    EXPECT_EQ(b.rows.size(), 1u);
    EXPECT_TRUE(parse_boot("", "").rows.empty());
}

}  // namespace
}  // namespace previrt::bench::kvm
