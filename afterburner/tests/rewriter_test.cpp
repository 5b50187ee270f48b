// The text pass on its own: golden files for the syntax real kernels feed the
// assembler, and the rules the goldens rely on.
#include "afterburner/rewriter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "afterburner/asm_source.h"
#include "sites/catalogue.h"
#include "afterburner/profile.h"

namespace previrt::afterburner {

using namespace sites;
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

RewriteResult rw(std::string_view text) { return rewrite(text, RewriteOptions{}); }

size_t count(const RewriteResult& r, SiteKind k) {
    auto it = r.sites.find(k);
    return it == r.sites.end() ? 0 : it->second;
}

TEST(Rewriter, GoldenFiles) {
    fs::path dir = fs::path(PREVIRT_SOURCE_DIR) / "afterburner/tests/golden";
    bool update = std::getenv("PREVIRT_UPDATE_GOLDEN") != nullptr;
    size_t checked = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".s") continue;
        RewriteOptions options;
        options.file_name = entry.path().filename().string();
        RewriteResult r = rewrite(read_text(entry.path()), options);
        fs::path expected = entry.path().string() + ".expected";
        if (update) std::ofstream(expected, std::ios::binary) << r.text;
        EXPECT_EQ(r.text, read_text(expected)) << entry.path().filename();
        ++checked;
    }
    EXPECT_GE(checked, 9u);
}

TEST(Rewriter, LeavesEveryOriginalByteAndLineInPlace) {
    std::string src = "\tcli # off\n\tmov %rax, %rbx\nx: sti; hlt\n";
    RewriteResult r = rw(src);
    std::vector<std::string_view> in = split_lines(src), out = split_lines(r.text);
    ASSERT_EQ(in.size(), out.size());
    EXPECT_EQ(out[1], in[1]);
    EXPECT_TRUE(out[0].starts_with("\t.set .Lprevirt_s, .;cli;"));
    EXPECT_TRUE(out[0].ends_with(" # off"));
    EXPECT_TRUE(out[2].starts_with("x: .set .Lprevirt_s, .;sti;"));
}

TEST(Rewriter, ClassifiesByOperandsWhereTheMnemonicIsShared) {
    RewriteResult r = rw("mov %cr3, %rax\nmov %rax, %cr3\nmovq %db7, %rax\nmov %rax, %dr7\n"
                         "mov %ax, %ds\nmov %ds, %eax\npush %fs\npop %gs\n"
                         "mov %rax, %rbx\nmovq %gs:8, %rax\npush %rax\npop %rbx\nmov %fs:(%rax), %eax\n");
    EXPECT_EQ(count(r, SiteKind::MovFromCr), 1u);
    EXPECT_EQ(count(r, SiteKind::MovToCr), 1u);
    EXPECT_EQ(count(r, SiteKind::MovFromDr), 1u);
    EXPECT_EQ(count(r, SiteKind::MovToDr), 1u);
    EXPECT_EQ(count(r, SiteKind::MovToSreg), 1u);
    EXPECT_EQ(count(r, SiteKind::MovFromSreg), 1u);
    EXPECT_EQ(count(r, SiteKind::PushSreg), 1u);
    EXPECT_EQ(count(r, SiteKind::PopSreg), 1u);
    size_t total = 0;
    for (const auto& [k, n] : r.sites) total += n;
    EXPECT_EQ(total, 8u);
}

TEST(Rewriter, EveryCataloguedSpellingIsFound) {
    for (const CatalogueEntry& e : catalogue()) {
        if (e.att.empty() || e.rule != OperandRule::None) continue;
        std::istringstream words{std::string(e.att)};
        for (std::string w; words >> w;) {
            RewriteResult r = rw("\t" + w + "\n");
            EXPECT_EQ(count(r, e.kind), 1u) << w;
        }
    }
}

TEST(Rewriter, LegacyModeCodeIsPaddedWithSingleByteNops) {
    RewriteResult r = rw(".code16\ncli\n");
    EXPECT_NE(r.text.find(".skip"), std::string::npos);
    RewriteResult r32 = rw(".code32\ncli\n");
    EXPECT_NE(r32.text.find(".skip"), std::string::npos);
    RewriteResult r64 = rw("cli\n");
    EXPECT_EQ(r64.text.find(".skip"), std::string::npos);
    EXPECT_NE(r64.text.find(".nops"), std::string::npos);
}

// How much room the sti site gets: none before a wait, whose interrupt
// shadow it must keep, the catalogue's everywhere else.
std::string sti_room(std::string_view text, std::vector<std::string>* warnings = nullptr) {
    RewriteResult r = rw(text);
    if (warnings) *warnings = r.warnings;
    if (r.text.find("sti;.set .Lprevirt_e, .;.set .Lprevirt_z, .;") != std::string::npos) return "0";  // no room
    size_t at = r.text.find("sti;.set .Lprevirt_e, .;.nops ((");
    if (at == std::string::npos) return "no sti site";
    at += std::string_view("sti;.set .Lprevirt_e, .;.nops ((").size();
    return r.text.substr(at, r.text.find(')', at) - at);
}

TEST(Rewriter, StiBeforeAWaitKeepsItsInterruptShadow) {
    EXPECT_EQ(sti_room("sti; hlt\n"), "0");
    EXPECT_EQ(sti_room("\tsti\n\t# idle\n\n\thlt\n"), "0");
    EXPECT_EQ(sti_room("sti; mwait\n"), "0");
    EXPECT_EQ(sti_room("sti; .byte 0x0f, 0x01, 0xc9\n"), "0");  // Linux's mwait, as bytes
    EXPECT_EQ(sti_room("sti; nop; hlt\n"), "21");
    EXPECT_EQ(sti_room("sti; ret\n"), "21");
    EXPECT_EQ(sti_room("sti\n"), "21");
    EXPECT_EQ(sti_room("sti; .byte 0x90\n"), "21");
    std::vector<std::string> warnings;
    EXPECT_EQ(sti_room("sti\n1: hlt\n", &warnings), "21");  // a jump may reach the hlt alone
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("labelled hlt"), std::string::npos);
    EXPECT_EQ(warnings[0].substr(0, 10), "<stdin>:1:");
}

TEST(Rewriter, AnnotationsAddSitesByFunctionAndOrdinal) {
    Annotations a = Annotations::parse("dev_write 2 mov mmio_write\ndev_write 3 add mmio_write\n", "t.ann");
    RewriteOptions options;
    options.annotations = &a;
    RewriteResult r = rewrite(".type dev_write, @function\ndev_write:\n"
                              "\tmovl $1, %eax\n\tnop\n\tmovl %esi, %eax\n\tmovl %eax, (%rdi)\n\tret\n",
                              options);
    EXPECT_EQ(count(r, SiteKind::MmioWrite), 1u);
    EXPECT_EQ(r.annotations_applied, 1u);
    ASSERT_EQ(r.warnings.size(), 1u);  // ordinal 3 is 'ret', not 'add'
    EXPECT_NE(r.warnings[0].find("stale"), std::string::npos);
    EXPECT_NE(r.text.find("movl %eax, (%rdi);.set .Lprevirt_e"), std::string::npos);
}

TEST(Rewriter, UserMacrosStopOrdinalCounting) {
    Annotations a = Annotations::parse("f 1 mov mmio_write\n", "t.ann");
    RewriteOptions options;
    options.annotations = &a;
    RewriteResult r = rewrite(".macro two\nnop\nnop\n.endm\n.type f, @function\nf:\ntwo\nmovl %eax, (%rdi)\n", options);
    EXPECT_EQ(r.annotations_applied, 0u);
}

TEST(Annotations, RejectMalformedLinesWithFileAndLine) {
    EXPECT_THROW(Annotations::parse("f x mov mmio_write\n", "a.ann"), AnnotationError);
    try {
        Annotations::parse("# ok\nf 1 mov cli\n", "a.ann");
        FAIL();
    } catch (const AnnotationError& e) {
        EXPECT_NE(std::string(e.what()).find("a.ann:2:"), std::string::npos);
    }
    EXPECT_THROW(Annotations::parse("f 1 mov\n", "a.ann"), AnnotationError);
    EXPECT_THROW(Annotations::parse("f 1 mov mmio_write extra\n", "a.ann"), AnnotationError);
}

TEST(Annotations, ErrorsShowBinaryInputAsEscapesNeverRaw) {
    using namespace std::string_literals;
    auto message = [](auto&& parse) {
        try {
            parse();
        } catch (const AnnotationError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    std::string m = message([] { parse_trap_profile("\x01\x02\0\xff mmio\n"s, "t.traps"); });
    EXPECT_EQ(m, "t.traps:1: '\\x01\\x02\\x00\\xff' is not a hexadecimal address");
    m = message([] { Annotations::parse("f 1 mov \x7f\\kind\n", "a.ann"); });
    EXPECT_NE(m.find("kind '\\x7f\\x5ckind' is not"), std::string::npos) << m;
    m = message([] { parse_trap_profile(std::string(500, 'z') + " mmio\n", "t.traps"); });
    EXPECT_NE(m.find("'" + std::string(64, 'z') + "...' is not"), std::string::npos) << m;
    EXPECT_LT(m.size(), 120u);
}

TEST(Annotations, RoundTripThroughText) {
    Annotations a = Annotations::parse("g 3 or page_table_write\nf 0 movzx mmio_read\n", "a");
    Annotations b = Annotations::parse(a.serialize(), "b");
    ASSERT_NE(b.find("g", 3), nullptr);
    EXPECT_EQ(b.find("g", 3)->kind, SiteKind::PageTableWrite);
    EXPECT_EQ(b.find("f", 0)->mnemonic, "movzx");
    EXPECT_TRUE(mnemonic_matches("movzbl", "movzx"));
    EXPECT_TRUE(mnemonic_matches("movl", "mov"));
    EXPECT_FALSE(mnemonic_matches("add", "mov"));
}

}  // namespace
}  // namespace previrt::afterburner
