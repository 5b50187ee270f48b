// A small machine for the core's tests: guest RAM, 4-level page tables that
// map the first MiB at 0 (user) and at 0x40000000 (supervisor), a GDT with
// the reference guest's selectors, a TSS, and an IDT.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "vmm/core/emulator.h"
#include "vmm/core/guest_memory.h"
#include "vmm/core/transitions.h"

namespace previrt::vmm::test {

class MachineTest : public ::testing::Test {
protected:
    static constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kPt = 0x4000, kPd2 = 0xb000, kPt2 = 0xc000;
    static constexpr uint64_t kGdt = 0x5000, kTss = 0x6000, kIdt = 0x7000;
    static constexpr uint64_t kKernel = 0x4000'0000;
    static constexpr uint16_t kKernelCode = 0x08, kKernelData = 0x10, kUserData = 0x1b, kUserCode = 0x23, kTr = 0x28;

    MachineTest() : ram(1 << 20), memory(ram.data(), ram.size()) {
        put64(kPml4, kPdpt | 7);
        put64(kPdpt + 0, kPd | 7);        // 0: user
        put64(kPdpt + 8, kPd2 | 7);  // 1 GiB: supervisor
        put64(kPd, kPt | 7);
        put64(kPd2, kPt2 | 3);
        for (uint64_t i = 0; i < 256; ++i) {
            // 0x100000 of user pages (frames 0-255), all writable except frame 0x80.
            put64(kPt + 8 * i, (i << 12) | (i == 0x80 ? 5 : 7));
            put64(kPt2 + 8 * i, (i << 12) | 3);
        }
        vcpu.cr3 = kPml4;
        vcpu.cr0 = kCr0Pe | kCr0Pg | kCr0Wp;
        vcpu.efer = kEferLme | kEferLma | kEferSce | kEferNxe;
        // GDT: null, kernel code, kernel data, user data, user code, TSS (two slots).
        put64(kGdt + 0x08, 0x00af9b000000ffffull);
        put64(kGdt + 0x10, 0x00cf93000000ffffull);
        put64(kGdt + 0x18, 0x00cff3000000ffffull);
        put64(kGdt + 0x20, 0x00affb000000ffffull);
        uint64_t tss = kKernel + kTss;
        put64(kGdt + 0x28, 103 | ((tss & 0xffffff) << 16) | (0x89ull << 40) | (((tss >> 24) & 0xff) << 56));
        put64(kGdt + 0x30, tss >> 32);
        vcpu.gdtr = {kKernel + kGdt, 0x37};
        vcpu.idtr = {kKernel + kIdt, 256 * 16 - 1};
        vcpu.tr = kTr;
        vcpu.tss_base = tss;
        put64(kTss + 4, kKernel + 0x9000);    // RSP0
        put64(kTss + 36, kKernel + 0xa000);   // IST1
        vcpu.sreg[kCs] = kKernelCode;
        vcpu.sreg[kSs] = kKernelData;
    }

    void put64(uint64_t pa, uint64_t v) { std::memcpy(ram.data() + pa, &v, 8); }
    uint64_t get64(uint64_t pa) const {
        uint64_t v;
        std::memcpy(&v, ram.data() + pa, 8);
        return v;
    }
    // An interrupt gate (type 0xe) or trap gate (0xf) for `vector`.
    void gate(uint8_t vector, uint64_t handler, uint8_t type = 0xe, uint8_t dpl = 0, uint8_t ist = 0) {
        uint64_t low = (handler & 0xffff) | (uint64_t{kKernelCode} << 16) | (uint64_t{ist} << 32) |
                       (uint64_t{type} << 40) | (uint64_t{dpl} << 45) | (1ull << 47) | ((handler >> 16 & 0xffff) << 48);
        put64(kIdt + 16 * vector, low);
        put64(kIdt + 16 * vector + 8, handler >> 32);
    }

    std::vector<uint8_t> ram;
    GuestMemory memory;
    Vcpu vcpu;
};

}  // namespace previrt::vmm::test
