// The emulator on real instruction bytes, decoded by Zydis as the trap path
// decodes them: what each sensitive instruction does to the virtual CPU.
#include <Zydis/Zydis.h>

#include <initializer_list>
#include <map>
#include <utility>

#include "vmm/core/tests/machine_fixture.h"

namespace previrt::vmm::test {
namespace {

class RecordingBackend final : public Backend {
public:
    uint32_t port_read(uint16_t port, unsigned size) override {
        reads.push_back({port, size});
        return 0x12345678;
    }
    void port_write(uint16_t port, unsigned size, uint32_t value) override { writes[port] = {size, value}; }
    void flush_translations() override { ++flushes; }
    void flush_translation(uint64_t va) override { flushed_page = va; }

    std::vector<std::pair<uint16_t, unsigned>> reads;
    std::map<uint16_t, std::pair<unsigned, uint32_t>> writes;
    int flushes = 0;
    uint64_t flushed_page = 0;
};

class EmulatorTest : public MachineTest {
protected:
    Emulation run(std::initializer_list<uint8_t> bytes) {
        std::vector<uint8_t> b(bytes);
        ZydisDecoder decoder;
        ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
        DecodedInstruction d;
        EXPECT_TRUE(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, b.data(), b.size(), &d.insn, d.operands)));
        vcpu.rip = kKernel + 0x100;
        return emulate(memory, vcpu, backend, d);
    }
    RecordingBackend backend;
};

TEST_F(EmulatorTest, CliStiAndTheInterruptShadow) {
    vcpu.rflags = kFlagIf | kFlagReserved1;
    EXPECT_EQ(run({0xfa}).outcome, Outcome::Done);  // cli
    EXPECT_FALSE(vcpu.interrupts_enabled());
    EXPECT_EQ(vcpu.rip, kKernel + 0x101);
    Emulation e = run({0xfb});  // sti
    EXPECT_TRUE(vcpu.interrupts_enabled());
    EXPECT_TRUE(e.interrupt_shadow);
    EXPECT_FALSE(run({0xfb}).interrupt_shadow);  // already enabled: no shadow
    vcpu.cpl = 3;
    EXPECT_EQ(run({0xfa}).fault.vector, kVectorGeneralProtection);
}

TEST_F(EmulatorTest, PortIoGoesToTheBackend) {
    vcpu.gpr[kRax] = 0xabcd;
    vcpu.gpr[kRdx] = 0x3f8;
    run({0xee});  // out %al, (%dx)
    EXPECT_EQ(backend.writes[0x3f8], (std::pair<unsigned, uint32_t>{1, 0xcd}));
    run({0xe7, 0x21});  // out %eax, $0x21
    EXPECT_EQ(backend.writes[0x21], (std::pair<unsigned, uint32_t>{4, 0xabcd}));
    vcpu.gpr[kRax] = 0xffff'ffff'ffff'ffffull;
    run({0x66, 0xed});  // in (%dx), %ax
    EXPECT_EQ(vcpu.gpr[kRax], 0xffff'ffff'ffff'5678ull);
    run({0xe4, 0x60});  // in $0x60, %al
    EXPECT_EQ(vcpu.gpr[kRax], 0xffff'ffff'ffff'5678ull);
    EXPECT_EQ(backend.reads.back(), (std::pair<uint16_t, unsigned>{0x60, 1}));
    vcpu.cpl = 3;
    EXPECT_EQ(run({0xee}).fault.vector, kVectorGeneralProtection);
}

TEST_F(EmulatorTest, ControlRegistersAndTranslations) {
    vcpu.gpr[kRbx] = 0x5000;
    run({0x0f, 0x22, 0xdb});  // mov %rbx, %cr3
    EXPECT_EQ(vcpu.cr3, 0x5000u);
    EXPECT_EQ(backend.flushes, 1);
    vcpu.cr2 = 0x1234;
    run({0x0f, 0x20, 0xd0});  // mov %cr2, %rax
    EXPECT_EQ(vcpu.gpr[kRax], 0x1234u);
    vcpu.cr3 = kPml4;
    vcpu.gpr[kRdi] = 0x7000'1234;
    run({0x0f, 0x01, 0x3f});  // invlpg (%rdi)
    EXPECT_EQ(backend.flushed_page, 0x7000'1234u);
}

TEST_F(EmulatorTest, MsrsAndSwapgs) {
    vcpu.gpr[kRcx] = kMsrGsBase;
    vcpu.gpr[kRax] = 0x4000'1000;
    vcpu.gpr[kRdx] = 0;
    run({0x0f, 0x30});  // wrmsr
    EXPECT_EQ(vcpu.gs_base, 0x4000'1000u);
    vcpu.kernel_gs_base = 0x77;
    run({0x0f, 0x01, 0xf8});  // swapgs
    EXPECT_EQ(vcpu.gs_base, 0x77u);
    EXPECT_EQ(vcpu.kernel_gs_base, 0x4000'1000u);
    vcpu.gpr[kRcx] = kMsrEfer;
    run({0x0f, 0x32});  // rdmsr
    EXPECT_EQ(vcpu.gpr[kRax], vcpu.efer);
    vcpu.gpr[kRcx] = 0x1234;  // no such MSR
    EXPECT_EQ(run({0x0f, 0x32}).fault.vector, kVectorGeneralProtection);
}

TEST_F(EmulatorTest, ReservedBitsInCr3AndEferAreAGeneralProtectionFault) {
    uint64_t cr3 = vcpu.cr3;
    vcpu.gpr[kRbx] = 0x8000'0000'0000'5000ull;  // bit 63: above any MAXPHYADDR
    Emulation e = run({0x0f, 0x22, 0xdb});      // mov %rbx, %cr3
    EXPECT_EQ(e.outcome, Outcome::Fault);
    EXPECT_EQ(e.fault.vector, kVectorGeneralProtection);
    EXPECT_EQ(vcpu.cr3, cr3);

    ASSERT_TRUE(vcpu.cr0 & kCr0Pg);
    ASSERT_TRUE(vcpu.efer & kEferLme);
    uint64_t efer = vcpu.efer;
    vcpu.gpr[kRcx] = kMsrEfer;
    vcpu.gpr[kRdx] = 0;
    vcpu.gpr[kRax] = 0;  // LME off in long mode, paging on
    EXPECT_EQ(run({0x0f, 0x30}).fault.vector, kVectorGeneralProtection);
    vcpu.gpr[kRax] = efer | (1u << 3);  // a reserved bit
    EXPECT_EQ(run({0x0f, 0x30}).fault.vector, kVectorGeneralProtection);
    EXPECT_EQ(vcpu.efer, efer);
    vcpu.gpr[kRax] = efer & ~(kEferNxe | kEferLma);  // LMA is the processor's: kept
    EXPECT_EQ(run({0x0f, 0x30}).outcome, Outcome::Done);
    EXPECT_EQ(vcpu.efer, efer & ~kEferNxe);
}

TEST_F(EmulatorTest, DescriptorTablesAndTaskRegister) {
    // lgdt (%rax) of a pseudo-descriptor at 0x40000800, then ltr %ax.
    uint8_t pd[10] = {0x37, 0x00};
    uint64_t base = kKernel + kGdt;
    std::memcpy(pd + 2, &base, 8);
    std::memcpy(ram.data() + 0x800, pd, sizeof pd);
    vcpu.gdtr = {};
    vcpu.gpr[kRax] = kKernel + 0x800;
    run({0x0f, 0x01, 0x10});  // lgdt (%rax)
    EXPECT_EQ(vcpu.gdtr.base, base);
    EXPECT_EQ(vcpu.gdtr.limit, 0x37);
    vcpu.gpr[kRax] = kTr;
    vcpu.tr = 0;
    vcpu.tss_base = 0;
    run({0x0f, 0x00, 0xd8});  // ltr %ax
    EXPECT_EQ(vcpu.tr, kTr);
    EXPECT_EQ(vcpu.tss_base, kKernel + kTss);
    vcpu.gpr[kRax] = kKernelData;
    run({0x0f, 0x00, 0xd8});  // not a TSS
    EXPECT_EQ(vcpu.tr, kTr);
}

TEST_F(EmulatorTest, SegmentLoadsAndFarReturn) {
    vcpu.gpr[kRax] = kKernelData;
    EXPECT_EQ(run({0x8e, 0xd0}).outcome, Outcome::Done);  // mov %eax, %ss
    EXPECT_EQ(vcpu.sreg[kSs], kKernelData);
    vcpu.gpr[kRax] = kUserData;  // DPL 3 data in SS at CPL 0: #GP
    EXPECT_EQ(run({0x8e, 0xd0}).fault.vector, kVectorGeneralProtection);
    run({0x8c, 0xc8});  // mov %cs, %eax
    EXPECT_EQ(vcpu.gpr[kRax], kKernelCode);
    // lretq to kernel code.
    vcpu.gpr[kRsp] = kKernel + 0xe000;
    put64(0xe000, kKernel + 0x4242);
    put64(0xe008, kKernelCode);
    run({0x48, 0xcb});
    EXPECT_EQ(vcpu.rip, kKernel + 0x4242);
    EXPECT_EQ(vcpu.gpr[kRsp], kKernel + 0xe010);
}

TEST_F(EmulatorTest, PushfPopfSeeTheVirtualInterruptFlag) {
    vcpu.gpr[kRsp] = kKernel + 0xe000;
    vcpu.rflags = kFlagReserved1;  // IF clear
    run({0x9c});  // pushfq
    EXPECT_EQ(get64(0xdff8), kFlagReserved1);
    put64(0xdff8, kFlagIf | kFlagReserved1 | kFlagCf);
    run({0x9d});  // popfq
    EXPECT_TRUE(vcpu.interrupts_enabled());
    EXPECT_TRUE(vcpu.rflags & kFlagCf);
    EXPECT_EQ(vcpu.gpr[kRsp], kKernel + 0xe000);
}

TEST_F(EmulatorTest, HltAndUnsupported) {
    EXPECT_EQ(run({0xf4}).outcome, Outcome::Halt);
    EXPECT_EQ(vcpu.rip, kKernel + 0x101);
    EXPECT_EQ(run({0x90}).outcome, Outcome::Unsupported);
}

}  // namespace
}  // namespace previrt::vmm::test
