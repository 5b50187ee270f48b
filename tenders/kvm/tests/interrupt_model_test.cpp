// Which interrupt model previrt-vmm chooses, what it says of it at start,
// and previrt's own PIC and PIT as the port bus sees them.
#include "tenders/kvm/interrupt_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include "tenders/kvm/host.h"
#include "tenders/kvm/irqchip.h"

namespace previrt::kvm {
namespace {

using devices::board::Device;

loader::Paravirt para_virtualized() { return {loader::Paravirt::Kind::Kvm, 1}; }

TEST(InterruptModelTest, PreOrParaVirtualizedTheDevicesAreInPlace) {
    tenders::RunOptions o;
    o.kvm_in_place = true;
    EXPECT_EQ(choose_interrupts(o, {}, true), Interrupts::InPlace);
    EXPECT_EQ(choose_interrupts({}, para_virtualized(), true), Interrupts::InPlace);
}

TEST(InterruptModelTest, KvmsInKernelModelsWhereOfferedAndNotRefused) {
    tenders::RunOptions o;
    EXPECT_EQ(choose_interrupts(o, {}, true), Interrupts::InKernel);
    EXPECT_EQ(choose_interrupts(o, {}, false), Interrupts::User);
    o.kvm_irqchip = false;  // --no-kvm-irqchip
    EXPECT_EQ(choose_interrupts(o, {}, true), Interrupts::User);
}

// The tests and `previrt bench` read these lines.
TEST(InterruptModelTest, TheStartupLinesSayWhichModelsAndWhichHost) {
    EXPECT_EQ(describe(Interrupts::InPlace, para_virtualized())
                  .rfind("previrt-vmm: para-virtualized (KVM's interface, version 1): 8259 PIC pair, 8254 PIT, UART, "
                         "PCI host bridge: the device library's models in the in-place VMM",
                         0),
              0u);
    EXPECT_EQ(describe(Interrupts::InPlace, {}).rfind("previrt-vmm: pre-virtualized: 8259 PIC pair", 0), 0u);
    EXPECT_EQ(describe(Interrupts::InKernel, {}),
              "previrt-vmm: 8259 PIC pair, 8254 PIT: KVM's in-kernel models; UART, PCI host bridge, CMOS, exit port: "
              "previrt's device library\n");
    EXPECT_NE(describe(Interrupts::User, {}).find("device library (interrupts injected with KVM_INTERRUPT)\n"),
              std::string::npos);
    EXPECT_EQ(describe(Host::Hardware),
              "previrt-vmm: KVM on hardware virtualization (VT-x/AMD-V): the guest runs natively\n");
    EXPECT_NE(describe(Host::Software).find("KVM without VT-x/AMD-V on this host"), std::string::npos);
    EXPECT_NE(describe(Host::Tcg).find("KVM on hardware virtualization (AMD-V emulated by QEMU TCG)"),
              std::string::npos);
}

TEST(InterruptModelTest, PrevirtsOwnHoldsThePicAndPitAndTakesTheUartsLine) {
    UserIrqchip irqchip(gettid(), SIGUSR1);  // its timer is armed only before a run
    EXPECT_NE(irqchip.model(Device::Pic), nullptr);
    EXPECT_NE(irqchip.model(Device::Pit), nullptr);
    EXPECT_EQ(irqchip.model(Device::Com1), nullptr);
    EXPECT_EQ(irqchip.model(Device::PciHost), nullptr);
    devices::PortDevice& pic = *irqchip.model(Device::Pic);
    EXPECT_EQ(pic.read(0x20, 1) & 0x10, 0u);  // IRR, as after reset
    irqchip.set_irq(4, true);
    EXPECT_EQ(pic.read(0x20, 1) & 0x10, 0x10u);
    EXPECT_TRUE(irqchip.needs_kick());
}

}  // namespace
}  // namespace previrt::kvm
