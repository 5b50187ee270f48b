// previrt-vmm's port-I/O and MMIO exits, against a port bus and a kvm_run
// built in memory as KVM leaves it.
#include "tenders/kvm/device_exits.h"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <vector>

namespace previrt::kvm {
namespace {

// A device that keeps what it is written and answers reads from a counter.
class Recorder final : public devices::PortDevice {
public:
    struct Access {
        uint16_t port;
        unsigned size;
        uint32_t value;
        bool operator==(const Access&) const = default;
    };
    uint32_t read(uint16_t, unsigned) override { return next_read_++; }
    void write(uint16_t port, unsigned size, uint32_t value) override { writes.push_back({port, size, value}); }
    std::vector<Access> writes;

private:
    uint32_t next_read_ = 0x41;
};

// A kvm_run with the data of a port exit behind it, as the vCPU's mapping has it.
struct Exit {
    alignas(kvm_run) uint8_t bytes[sizeof(kvm_run) + 64] = {};
    kvm_run& run() { return *reinterpret_cast<kvm_run*>(bytes); }
    uint8_t* data() { return bytes + sizeof(kvm_run); }
};

Exit io_exit(uint8_t direction, uint16_t port, uint8_t size, uint32_t count) {
    Exit e;
    e.run().exit_reason = KVM_EXIT_IO;
    e.run().io = {.direction = direction, .size = size, .port = port, .count = count, .data_offset = sizeof(kvm_run)};
    return e;
}

Exit mmio_exit(uint64_t address, bool write, uint32_t len) {
    Exit e;
    e.run().exit_reason = KVM_EXIT_MMIO;
    e.run().mmio = {.phys_addr = address, .len = len, .is_write = write};
    return e;
}

class DeviceExitsTest : public ::testing::Test {
protected:
    DeviceExitsTest() {
        bus.add(0x500, 8, device, "recorder");
        bus.add(devices::ExitPort::kBase, devices::ExitPort::kPorts, exit_port, "exit");
    }
    Recorder device;
    devices::ExitPort exit_port;
    devices::PortBus bus;
    std::ostringstream messages;
    DeviceExits exits{bus, exit_port, messages};
};

TEST_F(DeviceExitsTest, AStringOutWritesEachElementInTurn) {
    Exit e = io_exit(KVM_EXIT_IO_OUT, 0x502, 2, 3);  // rep outsw, rcx = 3
    const uint16_t words[3] = {0x1111, 0x2222, 0x3333};
    std::memcpy(e.data(), words, sizeof words);
    EXPECT_EQ(exits.io(e.run()), std::nullopt);
    EXPECT_EQ(device.writes,
              (std::vector<Recorder::Access>{{0x502, 2, 0x1111}, {0x502, 2, 0x2222}, {0x502, 2, 0x3333}}));
    EXPECT_EQ(messages.str(), "");
}

TEST_F(DeviceExitsTest, AStringInFillsEachElementInTurn) {
    Exit e = io_exit(KVM_EXIT_IO_IN, 0x500, 1, 4);  // rep insb
    std::memset(e.data(), 0xee, 8);
    exits.io(e.run());
    EXPECT_EQ(std::vector<uint8_t>(e.data(), e.data() + 5), (std::vector<uint8_t>{0x41, 0x42, 0x43, 0x44, 0xee}));
}

TEST_F(DeviceExitsTest, UnknownPortsReadAllOnesAndAreReportedOnce) {
    Exit in = io_exit(KVM_EXIT_IO_IN, 0x1234, 2, 2);
    exits.io(in.run());
    EXPECT_EQ(std::vector<uint8_t>(in.data(), in.data() + 5), (std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff, 0}));
    Exit out = io_exit(KVM_EXIT_IO_OUT, 0x1235, 1, 1);
    exits.io(out.run());
    exits.io(out.run());
    exits.io(in.run());
    EXPECT_EQ(messages.str(),
              "previrt-vmm: read of unknown port 0x1234: all ones\n"
              "previrt-vmm: write to unknown port 0x1235 ignored\n");
}

TEST_F(DeviceExitsTest, TheExitPortEndsTheRunWithItsStatus) {
    Exit e = io_exit(KVM_EXIT_IO_OUT, devices::ExitPort::kBase, 1, 1);
    e.data()[0] = 42;
    EXPECT_EQ(exits.io(e.run()), 42);
    // Whatever exits next, the status stands.
    Exit next = io_exit(KVM_EXIT_IO_OUT, 0x500, 1, 1);
    EXPECT_EQ(exits.io(next.run()), 42);
}

TEST_F(DeviceExitsTest, MmioReadsAllOnesAndEachAddressIsReportedOnce) {
    Exit read = mmio_exit(0x3fe00000, false, 4);
    exits.mmio(read.run());
    exits.mmio(read.run());
    for (uint8_t byte : read.run().mmio.data) EXPECT_EQ(byte, 0xff);
    Exit write = mmio_exit(0xfee00000, true, 4);
    write.run().mmio.data[0] = 7;
    exits.mmio(write.run());
    EXPECT_EQ(write.run().mmio.data[0], 7);
    EXPECT_EQ(messages.str(),
              "previrt-vmm: read of unknown MMIO address 0x3fe00000: all ones\n"
              "previrt-vmm: write of unknown MMIO address 0xfee00000 ignored\n");
}

}  // namespace
}  // namespace previrt::kvm
