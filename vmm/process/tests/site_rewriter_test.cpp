// Load-time rewriting of the reference guest's sites for the Linux-process
// backend, and its refusal of records that do not match the image.
#include "vmm/process/site_rewriter.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "sites/insn_decoder.h"
#include "sites/site_table.h"
#include "tenders/loader/guest_loader.h"
#include "previrt/guest_layout.h"
#include "previrt/site_record.h"
#include "vmm/process/hole.h"

namespace previrt::vmm::process {
namespace {

using abi::SiteKind;

class SiteRewriterTest : public ::testing::Test {
protected:
    void SetUp() override {
        image = elf::File::load(PREVIRT_GUEST_IMAGE);
        ram.assign(64 << 20, 0);
        loader::load_guest(image, ram, "");
        table = sites::load_site_table(image);
    }
    RewriteResult rewrite(bool really = true) {
        return rewrite_sites(image, ram.data(), layout::kKernelBase, ram.size(), really);
    }
    // The first site of `kind` in 64-bit code (the boot code's 32-bit sites stay as they are)
    // with room after the instruction (a sti before a hlt has none).
    const sites::Site& first(SiteKind kind) {
        for (const auto& s : table.sites)
            if (s.record.kind == static_cast<uint8_t>(kind) && (s.record.flags & abi::kSiteModeMask) == abi::kSiteMode64 &&
                s.record.site_length > s.record.insn_length)
                return s;
        throw std::runtime_error("no such site");
    }
    uint8_t* at(uint64_t address) { return ram.data() + (address - layout::kKernelBase); }
    uint64_t target_of_rel32(uint64_t address, unsigned opcode_length, unsigned length) {
        int32_t rel;
        std::memcpy(&rel, at(address) + opcode_length, 4);
        return address + length + static_cast<int64_t>(rel);
    }
    std::string error_of(bool really = true) {
        try {
            rewrite(really);
        } catch (const SiteError& e) {
            return e.what();
        }
        return "";
    }

    elf::File image;
    std::vector<uint8_t> ram;
    sites::SiteTable table;
};

TEST_F(SiteRewriterTest, WritesACallOrAStoreWhereTheBackendNeedsOne) {
    RewriteResult r = rewrite();
    EXPECT_GT(r.total, 200u);
    EXPECT_EQ(r.total, r.rewritten + r.left);

    const auto& cli = first(SiteKind::Cli);
    ASSERT_GE(cli.record.site_length, 7);
    EXPECT_EQ(at(cli.address)[0], 0xc6);  // movb $0, interrupt_flag(%rip)
    EXPECT_EQ(at(cli.address)[1], 0x05);
    EXPECT_EQ(target_of_rel32(cli.address, 2, 7), kHotPage + kHotInterruptFlag);

    const auto& sti = first(SiteKind::Sti);
    EXPECT_EQ(at(sti.address)[0], 0xc6);  // inline: movb $1, interrupt_flag(%rip), ...
    EXPECT_EQ(target_of_rel32(sti.address, 2, 7), kHotPage + kHotInterruptFlag);

    const auto& out = first(SiteKind::Out);
    EXPECT_EQ(target_of_rel32(out.address, 1, 5), thunk_address(Thunk::Generic));
    ASSERT_TRUE(r.sites.count(out.address));
    EXPECT_EQ(r.sites.at(out.address).insn.insn.mnemonic, ZYDIS_MNEMONIC_OUT);

    // What runs right at CPL 3 stays: rdtsc is still 0f 31.
    const auto& rdtsc = first(SiteKind::Rdtsc);
    EXPECT_EQ(at(rdtsc.address)[0], 0x0f);
    EXPECT_EQ(at(rdtsc.address)[1], 0x31);
    EXPECT_FALSE(r.sites.count(rdtsc.address));
    EXPECT_NE(r.summary.find("inline store to the virtual IF"), std::string::npos);
}

// The sequences written inline for the interrupt flag, decoded back.
TEST_F(SiteRewriterTest, InlineSequencesForTheInterruptFlag) {
    rewrite();
    sites::InsnDecoder decoder;
    auto mnemonics = [&](const sites::Site& s) {
        std::vector<ZydisMnemonic> m;
        for (uint64_t a = s.address; a < s.address + s.record.site_length;) {
            auto d = decoder.decode({at(a), s.address + s.record.site_length - a});
            if (!d) break;
            if (d->insn.mnemonic != ZYDIS_MNEMONIC_NOP) m.push_back(d->insn.mnemonic);
            a += d->insn.length;
        }
        return m;
    };
    using V = std::vector<ZydisMnemonic>;
    EXPECT_EQ(mnemonics(first(SiteKind::Sti)),
              (V{ZYDIS_MNEMONIC_MOV, ZYDIS_MNEMONIC_CMP, ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_CALL}));
    // The call goes to the pending entry, and only when the byte is set.
    const auto& sti = first(SiteKind::Sti);
    EXPECT_EQ(target_of_rel32(sti.address + 7, 2, 7), kHotPage + kHotPending);
    EXPECT_EQ(target_of_rel32(sti.address + 16, 1, 5), thunk_address(Thunk::Pending));
    bool pushf = false, popf = false;
    for (const auto& s : table.sites) {
        V m = mnemonics(s);
        if (m == V{ZYDIS_MNEMONIC_PUSHFQ, ZYDIS_MNEMONIC_CMP, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_BTR}) pushf = true;
        if (m == V{ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_LEA, ZYDIS_MNEMONIC_JNB, ZYDIS_MNEMONIC_CMP,
                   ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_CALL})
            popf = true;
    }
    EXPECT_TRUE(pushf) << "no pushf site got the inline sequence";
    EXPECT_TRUE(popf) << "no popf site got the inline sequence";
}

// `sti; hlt`: the afterburner leaves the sti no room, so that its interrupt
// shadow covers the hlt; the two become one call, the hlt in the sti's shadow.
TEST_F(SiteRewriterTest, StiAndTheHltInItsShadowBecomeOneSite) {
    const sites::Site* sti = nullptr;
    const sites::Site* hlt = nullptr;
    for (const auto& s : table.sites)
        if (s.record.kind == static_cast<uint8_t>(SiteKind::Sti) && s.record.site_length == 1)
            for (const auto& h : table.sites)
                if (h.record.kind == static_cast<uint8_t>(SiteKind::Hlt) && h.address == s.address + 1) sti = &s, hlt = &h;
    ASSERT_TRUE(sti) << "the guest's idle loop has `sti; hlt`, recorded as two adjacent sites";
    EXPECT_EQ(at(sti->address)[0], 0xfb);
    EXPECT_EQ(at(hlt->address)[0], 0xf4);
    RewriteResult r = rewrite();
    EXPECT_EQ(at(sti->address)[0], 0xe8);
    EXPECT_EQ(target_of_rel32(sti->address, 1, 5), thunk_address(Thunk::Generic));
    ASSERT_TRUE(r.sites.count(sti->address));
    const RewrittenSite& pair = r.sites.at(sti->address);
    EXPECT_TRUE(pair.then_halt);
    EXPECT_EQ(pair.site_length, 1 + hlt->record.site_length);
    EXPECT_EQ(pair.insn.insn.mnemonic, ZYDIS_MNEMONIC_STI);
    EXPECT_EQ(pair.halt.insn.mnemonic, ZYDIS_MNEMONIC_HLT);
    EXPECT_FALSE(r.sites.count(hlt->address));  // inside the pair's call now
    EXPECT_NE(r.summary.find("one call to the emulator (sti's interrupt shadow)"), std::string::npos);
    EXPECT_EQ(r.total, r.rewritten + r.left);
}

TEST_F(SiteRewriterTest, PureModeChecksButChangesNothing) {
    std::vector<uint8_t> before = ram;
    RewriteResult r = rewrite(false);
    EXPECT_EQ(r.rewritten, 0u);
    EXPECT_EQ(r.left, r.total);
    EXPECT_TRUE(ram == before);
}

TEST_F(SiteRewriterTest, RefusesASiteWhoseBytesAreNotItsInstruction) {
    const auto& cli = first(SiteKind::Cli);
    at(cli.address)[0] = 0xfb;  // sti where the record says cli
    std::string e = error_of(false);
    EXPECT_NE(e.find("site " + std::to_string(cli.number) + " ("), std::string::npos) << e;
}

TEST_F(SiteRewriterTest, RefusesPaddingThatIsNotNops) {
    const auto& out = first(SiteKind::Out);
    ASSERT_GT(out.record.site_length, out.record.insn_length);
    at(out.address)[out.record.insn_length] = 0xcc;
    std::string e = error_of();
    EXPECT_NE(e.find("site " + std::to_string(out.number) + " ("), std::string::npos) << e;
    EXPECT_NE(e.find("not all NOPs"), std::string::npos) << e;
}

TEST_F(SiteRewriterTest, RefusesARecordPointingOutsideTheImage) {
    // A copy of the image whose first record points 1 GiB away.
    std::vector<uint8_t> bytes = image.bytes();
    const elf::Section* sites = nullptr;
    for (const auto& s : image.sections())
        if (s.name == abi::kSiteSectionName) sites = &s;
    ASSERT_NE(sites, nullptr);
    int32_t far = 0x4000'0000;
    std::memcpy(bytes.data() + sites->offset + sizeof(abi::SiteNoteHeader), &far, 4);
    image = elf::File::parse(std::move(bytes));
    std::string e = error_of();
    EXPECT_NE(e.find(".note.previrt.sites section"), std::string::npos) << e;
    EXPECT_NE(e.find("at offset 0x2c: record points to"), std::string::npos) << e;
}

}  // namespace
}  // namespace previrt::vmm::process
