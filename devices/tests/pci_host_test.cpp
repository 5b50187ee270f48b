// Drives configuration mechanism #1 as a kernel's PCI scan does.
#include "devices/pci_host.h"

#include <gtest/gtest.h>

namespace previrt::devices {
namespace {

constexpr uint16_t kAddressPort = pc::pci::kConfigAddressPort, kDataPort = pc::pci::kConfigDataPort;

constexpr uint32_t address(unsigned bus, unsigned device, unsigned function, unsigned reg) {
    return 0x80000000u | bus << 16 | device << 11 | function << 8 | (reg & 0xfc);
}

class PciHostTest : public ::testing::Test {
protected:
    uint32_t read(unsigned bus, unsigned device, unsigned function, unsigned reg, unsigned size) {
        pci.write(kAddressPort, 4, address(bus, device, function, reg));
        return pci.read(static_cast<uint16_t>(kDataPort + (reg & 3)), size);
    }
    void write(unsigned bus, unsigned device, unsigned function, unsigned reg, unsigned size, uint32_t value) {
        pci.write(kAddressPort, 4, address(bus, device, function, reg));
        pci.write(static_cast<uint16_t>(kDataPort + (reg & 3)), size, value);
    }

    PciHost pci;
};

TEST_F(PciHostTest, HostBridgeIdentity) {
    EXPECT_EQ(read(0, 0, 0, 0x00, 4), 0x12378086u);
    EXPECT_EQ(read(0, 0, 0, 0x00, 2), 0x8086u);
    EXPECT_EQ(read(0, 0, 0, 0x02, 2), 0x1237u);
    EXPECT_EQ(read(0, 0, 0, 0x00, 1), 0x86u);
    EXPECT_EQ(read(0, 0, 0, 0x01, 1), 0x80u);
    EXPECT_EQ(read(0, 0, 0, 0x02, 1), 0x37u);
    EXPECT_EQ(read(0, 0, 0, 0x03, 1), 0x12u);
    EXPECT_EQ(read(0, 0, 0, 0x08, 4), 0x06000002u);  // class 06.00.00, revision 2
    EXPECT_EQ(read(0, 0, 0, 0x0b, 1), 0x06u);
    EXPECT_EQ(read(0, 0, 0, 0x0a, 1), 0x00u);
    EXPECT_EQ(read(0, 0, 0, 0x0e, 1), 0x00u);  // header type 0, single function
    EXPECT_EQ(read(0, 0, 0, 0x2c, 4), 0x11001af4u);
}

TEST_F(PciHostTest, AbsentFunctionsReadAllOnes) {
    EXPECT_EQ(read(0, 1, 0, 0x00, 4), 0xffffffffu);
    EXPECT_EQ(read(0, 0, 1, 0x00, 4), 0xffffffffu);
    EXPECT_EQ(read(0, 31, 7, 0x00, 2), 0xffffffffu);  // the bus trims it to the access size
    EXPECT_EQ(read(1, 0, 0, 0x00, 4), 0xffffffffu);
    write(0, 1, 0, 0x04, 2, 0x0007);  // goes nowhere
}

TEST_F(PciHostTest, DataPortNeedsTheEnableBit) {
    pci.write(kAddressPort, 4, 0x00000000);
    EXPECT_EQ(pci.read(kDataPort, 4), 0xffffffffu);
}

TEST_F(PciHostTest, AddressRegisterReadsBackWithoutReadOnlyBits) {
    pci.write(kAddressPort, 4, 0xffffffff);
    EXPECT_EQ(pci.read(kAddressPort, 4), 0x80fffffcu);
    pci.write(kAddressPort, 4, address(0, 3, 2, 0x10));
    EXPECT_EQ(pci.read(kAddressPort, 4), address(0, 3, 2, 0x10));
    // Byte and word accesses to 0xcf8-0xcfb are not CONFIG_ADDRESS.
    pci.write(kAddressPort, 1, 0);
    pci.write(kAddressPort + 1, 1, 0);
    EXPECT_EQ(pci.read(kAddressPort, 4), address(0, 3, 2, 0x10));
    EXPECT_EQ(pci.read(kAddressPort, 2), 0xffffffffu);
}

TEST_F(PciHostTest, OnlyTheCommandRegisterIsWritable) {
    write(0, 0, 0, 0x04, 2, 0x0007);
    EXPECT_EQ(read(0, 0, 0, 0x04, 2), 0x0007u);
    write(0, 0, 0, 0x04, 4, 0xffffffff);
    EXPECT_EQ(read(0, 0, 0, 0x04, 4), 0x00000547u);  // the status half is read-only
    write(0, 0, 0, 0x00, 4, 0);
    write(0, 0, 0, 0x0a, 1, 0x12);
    write(0, 0, 0, 0x40, 4, 0xdeadbeef);
    EXPECT_EQ(read(0, 0, 0, 0x00, 4), 0x12378086u);
    EXPECT_EQ(read(0, 0, 0, 0x08, 4), 0x06000002u);
    EXPECT_EQ(read(0, 0, 0, 0x40, 4), 0u);
}

class FakeFunction : public PciDevice {
public:
    uint32_t config_read(uint8_t offset, unsigned size) override {
        last_offset = offset;
        last_size = size;
        return 0xa5a5a5a5;
    }
    void config_write(uint8_t offset, unsigned size, uint32_t value) override {
        last_offset = offset;
        last_size = size;
        last_value = value;
    }
    uint8_t last_offset = 0;
    unsigned last_size = 0;
    uint32_t last_value = 0;
};

TEST_F(PciHostTest, AttachedFunctionsSeeByteOffsetAndSize) {
    FakeFunction fake;
    EXPECT_TRUE(pci.attach(3, 1, fake));
    EXPECT_FALSE(pci.attach(3, 1, fake));
    EXPECT_FALSE(pci.attach(0, 0, fake));  // the host bridge's
    EXPECT_FALSE(pci.attach(32, 0, fake));
    EXPECT_EQ(read(0, 3, 1, 0x12, 2), 0xa5a5a5a5u);
    EXPECT_EQ(fake.last_offset, 0x12);
    EXPECT_EQ(fake.last_size, 2u);
    write(0, 3, 1, 0x3d, 1, 0x42);
    EXPECT_EQ(fake.last_offset, 0x3d);
    EXPECT_EQ(fake.last_size, 1u);
    EXPECT_EQ(fake.last_value, 0x42u);
    // A dword at 0xcfe would cross into the next register: it reaches nothing.
    fake.last_size = 0;
    EXPECT_EQ(read(0, 3, 1, 0x12, 4), 0xffffffffu);
    EXPECT_EQ(fake.last_size, 0u);
}

// A state taken from one bridge and given to another, and bytes a guest wrote
// over its saved state: the registers keep only their writable bits.
TEST_F(PciHostTest, StateCarriesWhatTheGuestChangedAndNoMore) {
    write(0, 0, 0, 0x04, 2, 0x0007);
    pci.write(kAddressPort, 4, address(0, 0, 0, 0x2c));
    PciHost::State s = pci.save();
    PciHost other;
    other.restore(s);
    EXPECT_EQ(other.read(kAddressPort, 4), address(0, 0, 0, 0x2c));
    EXPECT_EQ(other.read(kDataPort, 4), 0x11001af4u);  // the selected register, through the restored latch
    other.write(kAddressPort, 4, address(0, 0, 0, 0x04));
    EXPECT_EQ(other.read(kDataPort, 2), 0x0007u);

    PciHost::State hostile{0xffffffff, 0xffff, 0xffff};
    other.restore(hostile);
    EXPECT_EQ(other.read(kAddressPort, 4), 0x80fffffcu);  // reserved and low bits stay zero
    other.write(kAddressPort, 4, address(0, 0, 0, 0x04));
    EXPECT_EQ(other.read(kDataPort, 2), 0x0547u);  // only the command register's writable bits
    other.write(kAddressPort, 4, address(0, 0, 0, 0x00));
    EXPECT_EQ(other.read(kDataPort, 4), 0x12378086u);  // the identity is no state
}

}  // namespace
}  // namespace previrt::devices
