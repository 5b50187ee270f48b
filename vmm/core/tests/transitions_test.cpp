// Interrupt delivery and the privilege transitions against the Intel SDM's
// 64-bit mode rules, on a small machine in guest RAM.
#include "vmm/core/tests/machine_fixture.h"

namespace previrt::vmm::test {
namespace {

using TransitionsTest = MachineTest;

TEST_F(TransitionsTest, TranslateHonoursUserAndWriteBits) {
    Translation t = translate(memory, vcpu, 0x1234, Access::Write, true);
    ASSERT_TRUE(t.ok);
    EXPECT_EQ(t.pa, 0x1234u);
    EXPECT_TRUE(t.user && t.writable);
    // The read-only user page: a user write faults with P, W and U set.
    t = translate(memory, vcpu, 0x80010, Access::Write, true);
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.error_code, kPfPresent | kPfWrite | kPfUser);
    // The supervisor window is not for user mode.
    t = translate(memory, vcpu, kKernel + 0x10, Access::Read, true);
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.error_code, kPfPresent | kPfUser);
    EXPECT_TRUE(translate(memory, vcpu, kKernel + 0x10, Access::Read, false).ok);
    // Beyond the mapped MiB: not present.
    t = translate(memory, vcpu, 0x200000, Access::Read, false);
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.error_code, 0u);
}

TEST_F(TransitionsTest, InterruptFromKernelPushesFrameOnCurrentStack) {
    gate(0x20, kKernel + 0x1111);
    vcpu.rip = kKernel + 0x500;
    vcpu.gpr[kRsp] = kKernel + 0xe008;  // not 16-byte aligned: the frame is aligned
    vcpu.rflags = kFlagIf | kFlagReserved1 | kFlagCf;
    ASSERT_EQ(deliver(memory, vcpu, Event::interrupt(0x20)), Delivered::Ok);
    EXPECT_EQ(vcpu.rip, kKernel + 0x1111);
    EXPECT_EQ(vcpu.gpr[kRsp], kKernel + 0xe000 - 40);
    EXPECT_FALSE(vcpu.interrupts_enabled());
    uint64_t f = 0xe000 - 40;
    EXPECT_EQ(get64(f), kKernel + 0x500);
    EXPECT_EQ(get64(f + 8), kKernelCode);
    EXPECT_EQ(get64(f + 16), kFlagIf | kFlagReserved1 | kFlagCf);
    EXPECT_EQ(get64(f + 24), kKernel + 0xe008);
    EXPECT_EQ(get64(f + 32), kKernelData);
    // iretq takes it back.
    ASSERT_TRUE(do_iret(memory, vcpu).ok);
    EXPECT_EQ(vcpu.rip, kKernel + 0x500);
    EXPECT_EQ(vcpu.gpr[kRsp], kKernel + 0xe008);
    EXPECT_TRUE(vcpu.interrupts_enabled());
}

TEST_F(TransitionsTest, ExceptionFromUserSwitchesToRsp0AndPushesErrorCode) {
    gate(kVectorPageFault, kKernel + 0x2222);
    vcpu.cpl = 3;
    vcpu.sreg[kCs] = kUserCode;
    vcpu.sreg[kSs] = kUserData;
    vcpu.rip = 0x400123;
    vcpu.gpr[kRsp] = 0x7ff0;
    vcpu.rflags = kFlagIf | kFlagReserved1;
    ASSERT_EQ(deliver(memory, vcpu, Event::page_fault(0xdead000, 6)), Delivered::Ok);
    EXPECT_EQ(vcpu.cpl, 0);
    EXPECT_EQ(vcpu.cr2, 0xdead000u);
    EXPECT_EQ(vcpu.gpr[kRsp], kKernel + 0x9000 - 48);
    uint64_t f = 0x9000 - 48;
    EXPECT_EQ(get64(f), 6u);
    EXPECT_EQ(get64(f + 8), 0x400123u);
    EXPECT_EQ(get64(f + 16), kUserCode);
    EXPECT_EQ(get64(f + 32), 0x7ff0u);
    EXPECT_EQ(get64(f + 40), kUserData);
    // Back to user mode past the error code.
    vcpu.gpr[kRsp] += 8;
    ASSERT_TRUE(do_iret(memory, vcpu).ok);
    EXPECT_EQ(vcpu.cpl, 3);
    EXPECT_EQ(vcpu.rip, 0x400123u);
}

TEST_F(TransitionsTest, IstStackAndDoubleAndTripleFault) {
    gate(kVectorDoubleFault, kKernel + 0x3333, 0xe, 0, 1);
    vcpu.rip = kKernel + 0x600;
    vcpu.gpr[kRsp] = kKernel + 0xe000;
    // Vector 0x30 has no gate: a double fault on the IST stack.
    ASSERT_EQ(deliver(memory, vcpu, Event::interrupt(0x30)), Delivered::Ok);
    EXPECT_EQ(vcpu.rip, kKernel + 0x3333);
    EXPECT_EQ(vcpu.gpr[kRsp], kKernel + 0xa000 - 48);
    // Without the double-fault gate the machine resets.
    put64(kIdt + 16 * kVectorDoubleFault, 0);
    vcpu.rip = kKernel + 0x600;
    EXPECT_EQ(deliver(memory, vcpu, Event::interrupt(0x30)), Delivered::TripleFault);
}

TEST_F(TransitionsTest, SoftwareInterruptChecksGateDpl) {
    gate(0x80, kKernel + 0x4444, 0xf, 3);
    gate(0x81, kKernel + 0x5555, 0xf, 0);
    gate(kVectorGeneralProtection, kKernel + 0x6666);
    vcpu.cpl = 3;
    vcpu.sreg[kCs] = kUserCode;
    vcpu.gpr[kRsp] = 0x7000;
    Event e = Event::interrupt(0x80);
    e.software = true;
    Vcpu saved = vcpu;
    ASSERT_EQ(deliver(memory, vcpu, e), Delivered::Ok);
    EXPECT_EQ(vcpu.rip, kKernel + 0x4444);
    vcpu = saved;
    e.vector = 0x81;
    ASSERT_EQ(deliver(memory, vcpu, e), Delivered::Ok);
    EXPECT_EQ(vcpu.rip, kKernel + 0x6666);
    EXPECT_EQ(get64(0x9000 - 48), 0x81u * 8 + 2);  // the error code names the IDT entry
}

TEST_F(TransitionsTest, SyscallAndSysret) {
    vcpu.star = (uint64_t{0x13} << 48) | (uint64_t{kKernelCode} << 32);
    vcpu.lstar = kKernel + 0x7777;
    vcpu.sfmask = kFlagIf | kFlagDf;
    vcpu.cpl = 3;
    vcpu.rip = 0x400200;
    vcpu.rflags = kFlagIf | kFlagDf | kFlagReserved1 | kFlagCf;
    ASSERT_TRUE(do_syscall(vcpu).ok);
    EXPECT_EQ(vcpu.cpl, 0);
    EXPECT_EQ(vcpu.rip, kKernel + 0x7777);
    EXPECT_EQ(vcpu.gpr[kRcx], 0x400200u);
    EXPECT_EQ(vcpu.gpr[kR11], kFlagIf | kFlagDf | kFlagReserved1 | kFlagCf);
    EXPECT_EQ(vcpu.rflags, kFlagReserved1 | kFlagCf);
    EXPECT_EQ(vcpu.sreg[kCs], kKernelCode);
    ASSERT_TRUE(do_sysret(vcpu).ok);
    EXPECT_EQ(vcpu.cpl, 3);
    EXPECT_EQ(vcpu.rip, 0x400200u);
    EXPECT_EQ(vcpu.sreg[kCs], kUserCode);
    EXPECT_EQ(vcpu.sreg[kSs], kUserData);
    EXPECT_TRUE(vcpu.interrupts_enabled());
    // A non-canonical return address faults in the kernel (Intel SDM Vol. 2B, SYSRET).
    ASSERT_TRUE(do_syscall(vcpu).ok);
    vcpu.gpr[kRcx] = 0x0000'8000'0000'0000ull;
    Transition t = do_sysret(vcpu);
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.fault.vector, kVectorGeneralProtection);
    EXPECT_EQ(vcpu.cpl, 0);
}

TEST_F(TransitionsTest, IretRefusesAMorePrivilegedReturn) {
    vcpu.cpl = 3;
    vcpu.gpr[kRsp] = 0x7000;
    put64(0x7000, kKernel);
    put64(0x7008, kKernelCode);
    EXPECT_FALSE(do_iret(memory, vcpu).ok);
    EXPECT_EQ(vcpu.cpl, 3);
}

}  // namespace
}  // namespace previrt::vmm::test
