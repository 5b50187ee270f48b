#include <gtest/gtest.h>

#include <cstring>

#include "elf/elf_file.h"
#include "testing/toolchain.h"

namespace previrt::elf {
namespace {

using test::check_run;
using test::quote;
using test::run;
using test::TempDir;

// Site records as the afterburner lays them out: PC-relative words pointing at
// labels in .text, plus a local label inside the site section itself.
constexpr char kSitesSource[] = R"(
    .text
    .globl _start
_start:
    nop
label_a:
    call f
    nop
label_b:
    ret
f:  ret
    .data
    .long 7
    .section previrt_sites,"a",@progbits
    .balign 4
local_site:
    .long label_a - .
    .long label_b - .
    .long f - .
)";

constexpr char kComdatSource[] = R"(
    .section .text.f,"axG",@progbits,f,comdat
    .globl f
    .type f, @function
f:  nop
    ret
    .size f, .-f
    .section previrt_sites,"a?",@progbits
    .long f - .
    .text
    .globl _start
_start:
    call f
    ret
)";

const std::vector<uint8_t> kInserted = {0x50, 0x52, 0x56, 0x53, 1, 0, 16, 0, 4, 0, 0, 0, 3, 0, 0, 0};

uint64_t address_of(const File& f, const std::string& name) {
    for (const Symbol& s : f.symbols())
        if (s.name == name) return s.value;
    throw std::runtime_error("no symbol " + name);
}

int32_t word_at(const Section& s, uint64_t offset) {
    int32_t v = 0;
    std::memcpy(&v, s.data.data() + offset, 4);
    return v;
}

// Inserts kInserted at the start of previrt_sites, writes the result next to
// `object` as <name>.rewritten.o and returns its path.
std::filesystem::path insert_header(const std::filesystem::path& object) {
    const File f = File::load(object.string());
    const size_t sites = f.find_section("previrt_sites").value();
    SectionEdit edit{sites, kInserted, 16, 8};
    edit.contents.insert(edit.contents.end(), f.sections()[sites].data.begin(), f.sections()[sites].data.end());
    auto out = object;
    out.replace_extension(".rewritten.o");
    test::write_bytes(out, rewrite_relocatable(f, {edit}));
    return out;
}

// binutils print "Warning:"/"Error:" on stderr for anything odd in a file.
void expect_tools_accept(const std::filesystem::path& file) {
    for (const char* tool : {"readelf -a -g -W", "objdump -dr", "objdump -x"}) {
        auto r = run(std::string(tool) + " " + quote(file) + " >/dev/null");
        EXPECT_EQ(r.status, 0) << tool;
        EXPECT_EQ(r.output, "") << tool << " complained about " << file;
    }
}

void check_rewritten_object(const File& before, const File& after) {
    const size_t sites = before.find_section("previrt_sites").value();
    ASSERT_EQ(after.sections().size(), before.sections().size());
    for (size_t i = 0; i < before.sections().size(); ++i) {
        const Section& a = before.sections()[i];
        const Section& b = after.sections()[i];
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.flags, b.flags);
        EXPECT_EQ(a.link, b.link);
        EXPECT_EQ(a.info, b.info);
        if (i == sites) continue;
        EXPECT_EQ(a.size, b.size) << a.name;
        EXPECT_TRUE(std::equal(a.data.begin(), a.data.end(), b.data.begin(), b.data.end()) || a.type == kShtRel ||
                    a.type == kShtRela || a.type == kShtSymtab)
            << a.name;
        if (a.type != kShtNull && a.type != kShtNobits) {
            EXPECT_EQ(b.offset % std::max<uint64_t>(1, b.addralign), 0u) << b.name;
        }
    }
    const Section& s = after.sections()[sites];
    EXPECT_EQ(s.addralign, 8u);
    EXPECT_EQ(s.size, before.sections()[sites].size + 16);
    EXPECT_TRUE(std::equal(kInserted.begin(), kInserted.end(), s.data.begin()));

    auto old_rels = before.relocations_for(sites);
    auto new_rels = after.relocations_for(sites);
    ASSERT_EQ(new_rels.size(), old_rels.size());
    for (size_t k = 0; k < old_rels.size(); ++k) {
        EXPECT_EQ(new_rels[k].offset, old_rels[k].offset + 16);
        EXPECT_EQ(new_rels[k].type, old_rels[k].type);
        EXPECT_EQ(new_rels[k].symbol, old_rels[k].symbol);
        EXPECT_EQ(new_rels[k].addend, old_rels[k].addend);  // REL: read from the moved field
    }
    ASSERT_EQ(after.symbols().size(), before.symbols().size());
    for (size_t j = 0; j < before.symbols().size(); ++j) {
        const Symbol& a = before.symbols()[j];
        const bool moves = a.shndx == sites && a.type != kSttSection;
        EXPECT_EQ(after.symbols()[j].value, a.value + (moves ? 16 : 0)) << a.name;
    }
}

void check_sites(bool is64) {
    TempDir dir;
    const auto obj = dir.assemble("sites", kSitesSource, is64 ? "--64" : "--32");
    const auto rewritten = insert_header(obj);
    const File before = File::load(obj.string());
    const File after = File::load(rewritten.string());
    check_rewritten_object(before, after);
    EXPECT_EQ(address_of(after, "local_site"), 16u);
    expect_tools_accept(rewritten);

    const auto exe = dir / "sites";
    check_run(std::string("ld ") + (is64 ? "-m elf_x86_64" : "-m elf_i386") + " -o " + quote(exe) + " " +
              quote(rewritten));
    expect_tools_accept(exe);
    const File linked = File::load(exe.string());
    const Section& sites = linked.sections()[linked.find_section("previrt_sites").value()];
    ASSERT_EQ(sites.size, 16u + 12u);
    EXPECT_TRUE(std::equal(kInserted.begin(), kInserted.end(), sites.data.begin()));
    EXPECT_EQ(address_of(linked, "local_site"), sites.addr + 16);
    const char* labels[] = {"label_a", "label_b", "f"};
    for (uint64_t k = 0; k < 3; ++k) {
        const uint64_t at = sites.addr + 16 + 4 * k;
        EXPECT_EQ(at + word_at(sites, 16 + 4 * k), address_of(linked, labels[k])) << labels[k];
    }
    EXPECT_EQ(linked.symbolize(address_of(linked, "label_b")), "label_b");
    EXPECT_EQ(linked.symbolize(address_of(linked, "label_a") + 2), "label_a+0x2");  // nearest preceding label
}

TEST(RewriteRelocatable, ShiftedSitesLink64) { check_sites(true); }
TEST(RewriteRelocatable, ShiftedSitesLink32) { check_sites(false); }

TEST(RewriteRelocatable, ComdatGroupSurvives) {
    TempDir dir;
    const auto obj = dir.assemble("comdat", kComdatSource, "--64");
    // A second definition of the same group; the linker keeps the first one seen.
    const auto other = dir.assemble("other", R"(
    .section .text.f,"axG",@progbits,f,comdat
    .globl f
    .type f, @function
f:  ret
    .size f, .-f
    .section previrt_sites,"a?",@progbits
    .long f - .
)",
                                    "--64");
    const auto rewritten = insert_header(obj);
    const File before = File::load(obj.string());
    const File after = File::load(rewritten.string());
    check_rewritten_object(before, after);
    const Section& group = after.sections()[after.find_section(".group").value()];
    EXPECT_EQ(group.type, kShtGroup);
    EXPECT_NE(after.sections()[after.find_section("previrt_sites").value()].flags & kShfGroup, 0u);
    expect_tools_accept(rewritten);
    EXPECT_NE(check_run("readelf -g " + quote(rewritten)).find("previrt_sites"), std::string::npos);

    const auto exe = dir / "comdat";
    check_run("ld -o " + quote(exe) + " " + quote(rewritten) + " " + quote(other));
    expect_tools_accept(exe);
    const File linked = File::load(exe.string());
    const Section& sites = linked.sections()[linked.find_section("previrt_sites").value()];
    ASSERT_EQ(sites.size, 16u + 4u);  // the other copy of the group was discarded
    EXPECT_TRUE(std::equal(kInserted.begin(), kInserted.end(), sites.data.begin()));
    EXPECT_EQ(sites.addr + 16 + word_at(sites, 16), address_of(linked, "f"));
    const Section& text_f = linked.sections()[linked.find_section(".text").value()];
    EXPECT_EQ(linked.symbolize(address_of(linked, "f") + 1), "f+0x1");
    EXPECT_GT(text_f.size, 0u);
}

// Past 65280 sections the counts move into section 0 and symbols name their
// section through SHT_SYMTAB_SHNDX; both must survive the rewrite.
TEST(RewriteRelocatable, ExtendedSectionNumbering) {
    TempDir dir;
    const auto obj = dir.assemble("many", R"(
    .text
    .globl _start
_start:
    ret
    .altmacro
    .macro filler n
    .section filler\n,"a",@progbits
    .byte 1
    .endm
    .set i, 0
    .rept 65300
    filler %i
    .set i, i+1
    .endr
    .section previrt_sites,"a",@progbits
site:
    .long _start - .
)");
    const File before = File::load(obj.string());
    ASSERT_GT(before.sections().size(), 65300u);
    const size_t index = before.find_section("previrt_sites").value();
    ASSERT_GT(index, 0xff00u);
    const auto rewritten = insert_header(obj);
    const File after = File::load(rewritten.string());
    ASSERT_EQ(after.sections().size(), before.sections().size());
    EXPECT_EQ(after.sections()[index].name, "previrt_sites");
    EXPECT_EQ(address_of(after, "site"), 16u);  // found through the SHT_SYMTAB_SHNDX entry
    EXPECT_EQ(after.relocations_for(index).at(0).offset, 16u);

    const auto exe = dir / "many";
    check_run("ld -o " + quote(exe) + " " + quote(rewritten));
    const File linked = File::load(exe.string());
    const Section& sites = linked.sections()[linked.find_section("previrt_sites").value()];
    EXPECT_EQ(address_of(linked, "site"), sites.addr + 16);
    EXPECT_EQ(sites.addr + 16 + word_at(sites, 16), address_of(linked, "_start"));
}

// Without edits the layout changes but nothing the linker reads does: linking
// the rewritten objects gives the same executable, byte for byte.
TEST(RewriteRelocatable, UneditedRoundTripLinksIdentically) {
    TempDir dir;
    test::write_file(dir / "prog.c", R"(
        static int counter;
        int table[4] = {1, 2, 3, 4};
        __attribute__((noinline)) int bump(int by) { return counter += by + table[by & 3]; }
        int main(void) { return bump(2) == 5 ? 0 : 1; }
    )");
    check_run("gcc -g -O1 -c -o " + quote(dir / "prog.o") + " " + quote(dir / "prog.c"));
    const File f = File::load((dir / "prog.o").string());
    test::write_bytes(dir / "copy.o", rewrite_relocatable(f, {}));
    expect_tools_accept(dir / "copy.o");
    const File copy = File::load((dir / "copy.o").string());
    ASSERT_EQ(copy.sections().size(), f.sections().size());
    for (size_t i = 0; i < f.sections().size(); ++i) {
        EXPECT_EQ(copy.sections()[i].name, f.sections()[i].name);
        EXPECT_TRUE(std::equal(copy.sections()[i].data.begin(), copy.sections()[i].data.end(),
                               f.sections()[i].data.begin(), f.sections()[i].data.end()));
    }
    check_run("gcc -o " + quote(dir / "a") + " " + quote(dir / "prog.o"));
    check_run("gcc -o " + quote(dir / "b") + " " + quote(dir / "copy.o"));
    EXPECT_EQ(test::read_bytes(dir / "a"), test::read_bytes(dir / "b"));
    check_run(quote(dir / "b"));
}

TEST(RewriteRelocatable, RejectsBadInput) {
    TempDir dir;
    const auto obj = dir.assemble("sites", kSitesSource, "--64");
    const File f = File::load(obj.string());
    const size_t sites = f.find_section("previrt_sites").value();
    auto expect_error = [&](const File& file, const std::vector<SectionEdit>& edits, const std::string& what) {
        try {
            rewrite_relocatable(file, edits);
            ADD_FAILURE() << "no error, expected one mentioning \"" << what << "\"";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    const std::vector<uint8_t> twelve(12, 0);
    expect_error(f, {{f.sections().size(), twelve, 0, 0}}, "no section");
    expect_error(f, {{f.find_section(".bss").value(), twelve, 0, 0}}, "no file data");
    expect_error(f, {{sites, twelve, 0, 0}, {sites, twelve, 0, 0}}, "edited twice");
    expect_error(f, {{sites, twelve, 13, 0}}, "exceeds");
    expect_error(f, {{sites, twelve, 0, 3}}, "not a power of two");
    // Shrinking the section strands the last relocation outside it.
    expect_error(f, {{sites, std::vector<uint8_t>(8, 0), 0, 0}}, "relocation 2 in section");

    check_run("ld -o " + quote(dir / "exe") + " " + quote(obj));
    expect_error(File::load((dir / "exe").string()), {}, "only relocatable");
}

}  // namespace
}  // namespace previrt::elf
