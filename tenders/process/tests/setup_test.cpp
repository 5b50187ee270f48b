// The process tender's set-up pieces that need no guest running.
#include "tenders/process/setup.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "devices/pc_board.h"

namespace previrt::vmm::process {
namespace {

TEST(DescribeMode, SaysHowTheGuestRuns) {
    RewriteResult sites;
    sites.total = 311;
    sites.rewritten = 290;
    EXPECT_EQ(describe_mode(0, Mode::Previrtualized, sites, "g.elf"),
              "previrt-process: pre-virtualized: 290 of 311 sites rewritten\n");
    EXPECT_EQ(describe_mode(0, Mode::Pure, sites, "g.elf"),
              "previrt-process: pure virtualization: every privileged instruction traps\n");
    EXPECT_EQ(describe_mode(2, Mode::Previrtualized, sites, "g.elf"),
              "previrt-process: para-virtualized guest (interface version 2): it calls the hypervisor directly\n");
}

TEST(DescribeMode, WarnsOfAnImageWithoutSiteRecords) {
    EXPECT_EQ(describe_mode(0, Mode::Previrtualized, RewriteResult{}, "plain.elf"),
              "previrt-process: warning: plain.elf has no site records (not built through the afterburner); it runs "
              "pure\n");
    // Pure is asked for: nothing to warn of.
    EXPECT_EQ(describe_mode(0, Mode::Pure, RewriteResult{}, "plain.elf"),
              "previrt-process: pure virtualization: every privileged instruction traps\n");
}

TEST(WireBoard, EveryPortOfTheBoardHasItsModel) {
    auto m = std::make_unique<Machine>();
    m->ram_size = 64 << 20;
    wire_board(*m);
    for (const devices::board::PortRange& r : devices::board::kPorts) {
        for (unsigned p = r.base; p < unsigned(r.base) + r.count; ++p) {
            devices::PortDevice* d = m->bus.find(uint16_t(p));
            ASSERT_NE(d, nullptr) << r.name << " port " << p;
            using devices::board::Device;
            switch (r.device) {
            case Device::Pic: EXPECT_EQ(d, &m->pic); break;
            case Device::Pit: EXPECT_EQ(d, &m->pit); break;
            case Device::Com1: EXPECT_EQ(d, &m->uart); break;
            case Device::PciHost: EXPECT_EQ(d, &m->pci); break;
            case Device::Cmos: EXPECT_EQ(d, m->cmos.get()); break;
            case Device::ExitPort: EXPECT_EQ(d, &m->exit_port); break;
            case Device::Post: EXPECT_EQ(d, &m->post); break;
            case Device::None: ADD_FAILURE() << "a range of no device"; break;
            }
        }
    }
    // A port of no device is left to the caller (all ones, reported once).
    uint32_t v = 0;
    EXPECT_FALSE(m->bus.read(0x300, 1, v));
}

TEST(WireBoard, TheBoardAnswersThroughTheBackend) {
    auto m = std::make_unique<Machine>();
    m->ram_size = 64 << 20;
    wire_board(*m);
    // COM1's line status: the transmitter empty, nothing received.
    EXPECT_EQ(m->port_read(pc::uart16550::kCom1Base + pc::uart16550::Lsr::kOffset, 1) & 0x61u, 0x60u);
    m->port_write(devices::ExitPort::kBase, 1, 7);
    ASSERT_TRUE(m->exit_port.status());
    EXPECT_EQ(*m->exit_port.status(), 7);
    EXPECT_EQ(m->port_read(0x300, 1), 0xffffffffu);
}

TEST(StatsReport, ListsWhatHappenedOnly) {
    Stats st;
    st.system_calls = 12;
    st.interrupts[0x20] = 5;
    st.traps["mmio"] = 3;
    std::string report = stats_report(st);
    EXPECT_EQ(report.rfind("previrt-process: VMM entries by kind\n", 0), 0u);
    EXPECT_NE(report.find("user         system call"), std::string::npos);
    EXPECT_NE(report.find("interrupt    vector 0x20"), std::string::npos);
    EXPECT_NE(report.find("trap         mmio"), std::string::npos);
    EXPECT_EQ(report.find("page fault"), std::string::npos);
    EXPECT_EQ(report.find("vector 0x21"), std::string::npos);
    EXPECT_EQ(std::count(report.begin(), report.end(), '\n'), 4);
}

}  // namespace
}  // namespace previrt::vmm::process
