// The loader with the real guest image, and with images it must refuse.
#include "tenders/loader/guest_loader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "previrt/boot_info.h"
#include "previrt/guest_layout.h"

namespace previrt::loader {
namespace {

std::string error_of(const elf::File& image, size_t ram_mib, const std::string& cmdline = "") {
    std::vector<uint8_t> ram(ram_mib << 20);
    try {
        load_guest(image, ram, cmdline);
    } catch (const LoadError& e) {
        return e.what();
    }
    return "";
}

TEST(GuestLoader, LoadsTheReferenceGuestForItsSixtyFourBitEntry) {
    elf::File image = elf::File::load(PREVIRT_GUEST_IMAGE);
    std::vector<uint8_t> ram(64 << 20, 0xa5);
    BootState s = load_guest(image, ram, "init=bench short");

    uint64_t entry_symbol = 0;
    for (const elf::Symbol& sym : image.symbols())
        if (sym.name == "previrt_entry64") entry_symbol = sym.value;
    EXPECT_EQ(s.entry, entry_symbol);
    EXPECT_EQ(s.rdi, boot::kBootMagic);
    EXPECT_EQ(s.rsi, kBootInfo);
    EXPECT_EQ(s.cr3, kBootPml4);

    // The image is at its physical load address, byte for byte, its bss zeroed.
    const elf::Section& text = image.sections()[*image.find_section(".text")];
    uint64_t text_phys = layout::kernel_phys(text.addr);
    EXPECT_EQ(std::memcmp(ram.data() + text_phys, text.data.data(), text.data.size()), 0);
    const elf::Section& bss = image.sections()[*image.find_section(".bss")];
    for (uint64_t i = 0; i < bss.size; i += 4096) EXPECT_EQ(ram[layout::kernel_phys(bss.addr) + i], 0);

    boot::BootInfo info;
    std::memcpy(&info, ram.data() + kBootInfo, sizeof info);
    EXPECT_EQ(info.version, boot::kBootInfoVersion);
    EXPECT_STREQ(info.command_line, "init=bench short");
    ASSERT_EQ(info.region_count, 2u);
    EXPECT_EQ(info.regions[1].base + info.regions[1].length, ram.size());

    // The kernel window maps physical 0 at kKernelBase (2 MiB pages).
    uint64_t pdpt_entry, pd_entry;
    std::memcpy(&pdpt_entry, ram.data() + kBootPdpt + 8 * (layout::kKernelBase >> 30), 8);
    std::memcpy(&pd_entry, ram.data() + kBootPd, 8);
    EXPECT_EQ(pdpt_entry & ~0xfffull, kBootPd);
    EXPECT_EQ(pd_entry, 0x83u);
}

TEST(GuestLoader, RefusesImagesItCannotStart) {
    elf::File guest = elf::File::load(PREVIRT_GUEST_IMAGE);
    EXPECT_NE(error_of(guest, 1).find("does not fit"), std::string::npos);
    EXPECT_NE(error_of(guest, 64, std::string(300, 'x')).find("command line longer"), std::string::npos);
    EXPECT_NE(error_of(guest, 2048).find("kernel window"), std::string::npos);

    // A loadable segment with more file bytes than memory: named as such.
    std::vector<uint8_t> bytes = guest.bytes();
    uint64_t phoff;
    std::memcpy(&phoff, bytes.data() + 32, 8);
    uint16_t phnum;
    std::memcpy(&phnum, bytes.data() + 56, 2);
    for (unsigned i = 0; i < phnum; ++i) {
        uint8_t* ph = bytes.data() + phoff + 56 * i;
        uint32_t type;
        std::memcpy(&type, ph, 4);
        if (type != 1) continue;  // PT_LOAD
        uint64_t memsz;
        std::memcpy(&memsz, ph + 40, 8);
        uint64_t filesz = memsz + 1;
        std::memcpy(ph + 32, &filesz, 8);
        break;
    }
    EXPECT_NE(error_of(elf::File::parse(bytes), 64).find("exceeds its memory size"), std::string::npos);

    elf::File no_note = elf::File::load(PREVIRT_SAMPLE_IMAGE);  // an executable without the entry note
    EXPECT_NE(error_of(no_note, 64).find("no 'previrt' entry note"), std::string::npos);
}

TEST(GuestLoader, TellsWhichParaVirtualInterfaceAnImageWasBuiltFor) {
    EXPECT_FALSE(paravirt_interface(elf::File::load(PREVIRT_GUEST_IMAGE)));
    Paravirt process = paravirt_interface(elf::File::load(PREVIRT_GUEST_PV_IMAGE));
    EXPECT_EQ(process.kind, Paravirt::Kind::Process);
    EXPECT_EQ(process.version, 1u);
    Paravirt kvm = paravirt_interface(elf::File::load(PREVIRT_GUEST_PV_KVM_IMAGE));
    EXPECT_EQ(kvm.kind, Paravirt::Kind::Kvm);
    EXPECT_EQ(kvm.version, 1u);
}

TEST(GuestLoader, OpensAnImageForOnePlatformWithOneSetOfMessages) {
    auto error_opening = [](const std::string& path, Platform platform, uint32_t version) -> std::string {
        try {
            open_image(path, platform, version);
        } catch (const LoadError& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_EQ(error_opening(PREVIRT_GUEST_IMAGE, Platform::BarePc, 0), "");
    EXPECT_EQ(error_opening(PREVIRT_GUEST_PV_KVM_IMAGE, Platform::Kvm, 1), "");
    EXPECT_EQ(error_opening(PREVIRT_GUEST_PV_KVM_IMAGE, Platform::Process, 1),
              std::string(PREVIRT_GUEST_PV_KVM_IMAGE) +
                  ": para-virtualized for KVM's interface (version 1): it runs with --on kvm only");
    EXPECT_EQ(error_opening(PREVIRT_GUEST_PV_IMAGE, Platform::Process, 2),
              std::string(PREVIRT_GUEST_PV_IMAGE) +
                  ": para-virtualized for the Linux-process hypervisor's interface version 1; this previrt has version 2");
    EXPECT_NE(error_opening("/nonexistent/guest.elf", Platform::Kvm, 1).find("/nonexistent/guest.elf"), std::string::npos);
}

}  // namespace
}  // namespace previrt::loader
