#include "elf/elf_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>

#include "testing/toolchain.h"

namespace previrt::elf {
namespace {

using test::check_run;
using test::quote;
using test::TempDir;

// Two sized functions, a call between them and a pointer to one in .data: the
// assembler emits one relocation per section, against the global symbols.
constexpr char kSource[] = R"(
    .text
    .globl func_a
    .type func_a, @function
func_a:
    nop
    nop
    call func_b
    ret
    .size func_a, .-func_a
    .globl func_b
    .type func_b, @function
func_b:
    movl $1, %eax
inner:
    ret
    .size func_b, .-func_b
    .data
    .globl var_x
    .type var_x, @object
var_x:
    .WORD func_a
    .size var_x, .-var_x
)";

std::string source(bool is64) {
    std::string s = kSource;
    s.replace(s.find(".WORD"), 5, is64 ? ".quad" : ".long");
    return s;
}

const Symbol& symbol(const File& f, const std::string& name) {
    for (const Symbol& s : f.symbols())
        if (s.name == name) return s;
    throw std::runtime_error("no symbol " + name);
}

size_t section(const File& f, std::string_view name) {
    auto index = f.find_section(name);
    if (!index) throw std::runtime_error("no section " + std::string(name));
    return *index;
}

void check_object(const File& f, bool is64) {
    EXPECT_EQ(f.is64(), is64);
    EXPECT_EQ(f.type(), kTypeRel);
    EXPECT_EQ(f.machine(), is64 ? kMachineX86_64 : kMachine386);
    ASSERT_EQ(f.sections()[0].type, kShtNull);

    const Section& text = f.sections()[section(f, ".text")];
    EXPECT_EQ(text.type, kShtProgbits);
    EXPECT_EQ(text.flags, kShfAlloc | kShfExecInstr);
    ASSERT_EQ(text.size, 14u);  // nop, nop, call rel32, ret | mov $1,%eax, ret
    EXPECT_EQ(text.data[0], 0x90);
    EXPECT_EQ(text.data[2], 0xe8);
    EXPECT_EQ(text.data[13], 0xc3);
    EXPECT_EQ(f.sections()[section(f, ".data")].size, is64 ? 8u : 4u);
    EXPECT_EQ(f.sections()[section(f, ".bss")].type, kShtNobits);
    EXPECT_TRUE(f.sections()[section(f, ".bss")].data.empty());
    EXPECT_EQ(f.sections()[section(f, is64 ? ".rela.text" : ".rel.text")].type, is64 ? kShtRela : kShtRel);
    EXPECT_EQ(f.sections()[section(f, ".symtab")].type, kShtSymtab);

    ASSERT_FALSE(f.symbols().empty());
    EXPECT_EQ(f.symbols()[0].name, "");
    const Symbol& a = symbol(f, "func_a");
    EXPECT_EQ(a.value, 0u);
    EXPECT_EQ(a.size, 8u);
    EXPECT_EQ(a.type, kSttFunc);
    EXPECT_EQ(a.bind, 1);  // STB_GLOBAL
    EXPECT_EQ(a.shndx, section(f, ".text"));
    EXPECT_EQ(symbol(f, "func_b").value, 8u);
    EXPECT_EQ(symbol(f, "func_b").size, 6u);
    EXPECT_EQ(symbol(f, "inner").value, 13u);
    EXPECT_EQ(symbol(f, "inner").bind, 0);  // STB_LOCAL
    EXPECT_EQ(symbol(f, "var_x").type, kSttObject);
    EXPECT_EQ(symbol(f, "var_x").shndx, section(f, ".data"));

    // The call: x86-64 gas emits PLT32 with an explicit -4; i386 emits PC32 with
    // the -4 stored in the call's displacement.
    auto text_rels = f.relocations_for(section(f, ".text"));
    ASSERT_EQ(text_rels.size(), 1u);
    EXPECT_EQ(text_rels[0].offset, 3u);
    EXPECT_EQ(text_rels[0].type, is64 ? 4u /* R_X86_64_PLT32 */ : kR_386_PC32);
    EXPECT_EQ(f.symbols()[text_rels[0].symbol].name, "func_b");
    EXPECT_EQ(text_rels[0].addend, -4);

    auto data_rels = f.relocations_for(section(f, ".data"));
    ASSERT_EQ(data_rels.size(), 1u);
    EXPECT_EQ(data_rels[0].offset, 0u);
    EXPECT_EQ(data_rels[0].type, 1u);  // R_X86_64_64, R_386_32
    EXPECT_EQ(f.symbols()[data_rels[0].symbol].name, "func_a");
    EXPECT_EQ(data_rels[0].addend, 0);

    EXPECT_TRUE(f.relocations_for(section(f, ".bss")).empty());
    EXPECT_THROW(f.relocations_for(f.sections().size()), Error);

    // Sections of a relocatable file all start at 0; .text is the only one that
    // reaches past .data's 8 bytes.
    EXPECT_EQ(f.symbolize(9), "func_b+0x1");
    EXPECT_EQ(f.symbolize(13), "func_b+0x5");
    EXPECT_EQ(f.symbolize(14), "");
}

TEST(ElfFile, Elf64Object) {
    TempDir dir;
    const File f = File::load(dir.assemble("a", source(true), "--64"));
    check_object(f, true);
}

TEST(ElfFile, Elf32Object) {
    TempDir dir;
    const File f = File::load(dir.assemble("a", source(false), "--32"));
    check_object(f, false);
}

void check_executable(const File& f, bool is64) {
    EXPECT_EQ(f.type(), kTypeExec);
    EXPECT_EQ(f.is64(), is64);
    const Symbol& a = symbol(f, "func_a");
    const Symbol& b = symbol(f, "func_b");
    const Symbol& x = symbol(f, "var_x");
    EXPECT_EQ(f.entry(), a.value);
    const Section& text = f.sections()[section(f, ".text")];
    EXPECT_EQ(text.addr, a.value);
    EXPECT_EQ(b.value, a.value + 8);

    EXPECT_EQ(f.symbolize(a.value), "func_a");
    EXPECT_EQ(f.symbolize(a.value + 3), "func_a+0x3");
    EXPECT_EQ(f.symbolize(b.value + 1), "func_b+0x1");
    // A sized symbol that contains the address wins over a nearer local label.
    EXPECT_EQ(f.symbolize(b.value + 5), "func_b+0x5");
    EXPECT_EQ(f.symbolize(x.value + 2), "var_x+0x2");
    EXPECT_EQ(f.symbolize(0), "");
    EXPECT_EQ(f.symbolize(text.addr + text.size + 0x100000), "");

    // Relocations kept with -q have addresses for offsets; they come back
    // relative to .text.
    auto rels = f.relocations_for(section(f, ".text"));
    ASSERT_EQ(rels.size(), 1u);
    EXPECT_EQ(rels[0].offset, 3u);
    EXPECT_EQ(f.symbols()[rels[0].symbol].name, "func_b");
    // The linked call displacement: func_b - (func_a + 7).
    int32_t disp = 0;
    std::memcpy(&disp, text.data.data() + 3, 4);
    EXPECT_EQ(disp, 1);
}

TEST(ElfFile, LinkedExecutables) {
    TempDir dir;
    for (bool is64 : {true, false}) {
        const auto obj = dir.assemble(is64 ? "a64" : "a32", source(is64), is64 ? "--64" : "--32");
        const auto exe = dir / (is64 ? "a64" : "a32");
        check_run(std::string("ld -q -e func_a ") + (is64 ? "-m elf_x86_64" : "-m elf_i386") + " -o " + quote(exe) +
                  " " + quote(obj));
        SCOPED_TRACE(is64 ? "ELF64" : "ELF32");
        check_executable(File::load(exe.string()), is64);
    }
}

TEST(ElfFile, SharedObjectSkipsDynamicRelocations) {
    TempDir dir;
    const auto obj = dir.assemble("a", source(true), "--64");
    const auto so = dir / "liba.so";
    check_run("ld -shared -o " + quote(so) + " " + quote(obj));
    const File f = File::load(so.string());
    EXPECT_EQ(f.type(), kTypeDyn);
    ASSERT_TRUE(f.find_section(".rela.dyn"));
    ASSERT_TRUE(f.find_section(".dynsym"));
    for (size_t i = 0; i < f.sections().size(); ++i) EXPECT_NO_THROW(f.relocations_for(i));
    EXPECT_EQ(f.symbolize(symbol(f, "func_b").value + 2), "func_b+0x2");
}

TEST(ElfFile, CopyOwnsItsBytes) {
    TempDir dir;
    const auto obj = dir.assemble("a", source(true), "--64");
    File copy;
    {
        const File original = File::load(obj.string());
        copy = original;
    }
    const Section& text = copy.sections()[section(copy, ".text")];
    EXPECT_EQ(text.data.data(), copy.bytes().data() + text.offset);
    EXPECT_EQ(text.data[0], 0x90);
    File moved = std::move(copy);
    EXPECT_EQ(moved.sections()[section(moved, ".text")].data.data(), moved.bytes().data() + text.offset);
}

// Notes as readelf reads them: 4-byte padding, and in a section aligned to 8
// the name and descriptor at 8 from the note's start.
TEST(ElfNotes, PaddingFollowsTheSectionsAlignment) {
    auto section = [](const std::vector<uint8_t>& bytes, uint64_t align) {
        Section s;
        s.name = ".note.t";
        s.type = kShtNote;
        s.addralign = align;
        s.data = bytes;
        return s;
    };
    // "GNU" (4 with its NUL), a 4-byte descriptor; then "previrt" (8), 5 bytes.
    std::vector<uint8_t> four = {4, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 'G', 'N', 'U', 0, 1, 2, 3, 4,
                                 8, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 'p', 'r', 'e', 'v', 'i', 'r', 't', 0,
                                 9, 9, 9, 9, 9, 0, 0, 0};
    std::vector<uint8_t> bytes = four;
    std::vector<Note> notes = parse_notes(section(bytes, 4));
    ASSERT_EQ(notes.size(), 2u);
    EXPECT_EQ(notes[0].name, "GNU");
    EXPECT_EQ(notes[0].type, 5u);
    EXPECT_EQ(notes[0].desc_offset, 16u);
    EXPECT_EQ(notes[0].desc.size(), 4u);
    EXPECT_EQ(notes[1].offset, 20u);
    EXPECT_EQ(notes[1].name, "previrt");
    EXPECT_EQ(notes[1].desc.size(), 5u);
    EXPECT_EQ(notes[1].desc[4], 9);

    // .note.gnu.property's layout: header, "GNU\0", descriptor at 16, padded to 8.
    std::vector<uint8_t> eight = {4, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 'G', 'N', 'U', 0, 1, 2, 3, 4, 0, 0, 0, 0,
                                  2, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 'A', 0, 0, 0};
    notes = parse_notes(section(eight, 8));
    ASSERT_EQ(notes.size(), 2u);
    EXPECT_EQ(notes[1].offset, 24u);
    EXPECT_EQ(notes[1].name, "A");
    EXPECT_EQ(notes[1].desc_offset, 40u);
    EXPECT_TRUE(notes[1].desc.empty());
}

TEST(ElfNotes, MalformedNotesAreNamed) {
    auto error = [](std::vector<uint8_t> bytes) {
        Section s;
        s.name = ".note.t";
        s.type = kShtNote;
        s.addralign = 4;
        s.data = bytes;
        try {
            parse_notes(s);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(error({4, 0, 0, 0, 0, 0}), "note section .note.t, note at offset 0x0: truncated note header");
    EXPECT_EQ(error({0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
              "note section .note.t, note at offset 0x0: name runs past the section's end");
    // An empty note, then one whose 4-byte descriptor is missing.
    EXPECT_EQ(error({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0}),
              "note section .note.t, note at offset 0xc: descriptor runs past the section's end");
    EXPECT_EQ(error({4, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 'G', 'N', 'U', 0, 1, 2, 3, 4}),
              "note section .note.t, note at offset 0x0: descriptor runs past the section's end");
    EXPECT_EQ(error({4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'G', 'N', 'U', 'X'}),
              "note section .note.t, note at offset 0x0: name is not NUL-terminated");
    EXPECT_EQ(error({0xfc, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0}),
              "note section .note.t, note at offset 0x0: name runs past the section's end");
}

TEST(ElfFile, LoadNamesThePath) {
    try {
        File::load("/nonexistent/previrt/file.o");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/previrt/file.o"), std::string::npos);
    }
}

// Malformed files: every one is a real object with one field broken.
class ElfFileErrors : public ::testing::Test {
protected:
    void SetUp() override {
        bytes_ = test::read_bytes(dir_.assemble("a", source(true), "--64"));
        good_ = File::parse(bytes_);
    }

    template <typename T>
    static void put(std::vector<uint8_t>& b, uint64_t offset, T value) {
        ASSERT_LE(offset + sizeof(T), b.size());
        std::memcpy(b.data() + offset, &value, sizeof(T));
    }
    uint64_t shdr(size_t index) const {
        uint64_t shoff = 0;
        std::memcpy(&shoff, bytes_.data() + 40, 8);
        return shoff + index * 64;
    }
    size_t index(std::string_view name) const { return section(good_, name); }

    // Parses `b` (and relocates every section) expecting an Error naming `what`.
    static void expect_error(const std::vector<uint8_t>& b, const std::string& what) {
        try {
            const File f = File::parse(b);
            for (size_t i = 0; i < f.sections().size(); ++i) f.relocations_for(i);
            ADD_FAILURE() << "no error, expected one mentioning \"" << what << "\"";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos)
                << "message: " << e.what() << "\nexpected to mention: " << what;
        }
    }

    TempDir dir_;
    std::vector<uint8_t> bytes_;
    File good_;
};

TEST_F(ElfFileErrors, EmptyFile) { expect_error({}, "empty file"); }

TEST_F(ElfFileErrors, WrongMagic) {
    auto b = bytes_;
    b[1] = 'X';
    expect_error(b, "bad magic");
}

TEST_F(ElfFileErrors, UnsupportedIdentification) {
    auto b = bytes_;
    b[4] = 3;
    expect_error(b, "unsupported ELF class 3");
    b = bytes_;
    b[5] = 2;
    expect_error(b, "little-endian");
}

TEST_F(ElfFileErrors, TruncatedHeader) {
    expect_error({bytes_.begin(), bytes_.begin() + 10}, "truncated ELF identification");
    expect_error({bytes_.begin(), bytes_.begin() + 40}, "truncated ELF header");
}

TEST_F(ElfFileErrors, HeaderSizes) {
    auto b = bytes_;
    put<uint16_t>(b, 58, 40);  // e_shentsize
    expect_error(b, "e_shentsize is 40, expected 64");
    b = bytes_;
    put<uint16_t>(b, 52, 52);  // e_ehsize
    expect_error(b, "e_ehsize is 52");
}

TEST_F(ElfFileErrors, SectionTablePastEnd) {
    auto b = bytes_;
    put<uint64_t>(b, 40, b.size() - 8);
    expect_error(b, "section header table at offset");
    b = bytes_;
    put<uint16_t>(b, 60, 1000);  // e_shnum
    expect_error(b, "(1000 entries of 64 bytes) lies outside");
    b = bytes_;
    put<uint64_t>(b, 40, ~uint64_t{0} - 10);  // offset + size overflows
    expect_error(b, "section header table at offset");
}

TEST_F(ElfFileErrors, BadShstrndx) {
    auto b = bytes_;
    put<uint16_t>(b, 62, 200);
    expect_error(b, "e_shstrndx 200 is not a valid section index");
    b = bytes_;
    put<uint16_t>(b, 62, static_cast<uint16_t>(index(".text")));
    expect_error(b, "not SHT_STRTAB");
}

TEST_F(ElfFileErrors, SectionNameOutOfRange) {
    auto b = bytes_;
    put<uint32_t>(b, shdr(1), 0xffff);
    expect_error(b, "section 1: name offset 0xffff lies outside");
}

TEST_F(ElfFileErrors, SectionNameNotTerminated) {
    auto b = bytes_;
    const Section& names = good_.sections()[index(".shstrtab")];
    b[names.offset + names.size - 1] = 'x';
    expect_error(b, "is not NUL-terminated");
}

TEST_F(ElfFileErrors, SectionDataPastEnd) {
    auto b = bytes_;
    const size_t text = index(".text");
    put<uint64_t>(b, shdr(text) + 24, 0x100000);
    expect_error(b, "section " + std::to_string(text) +
                        " (.text): data at offset 0x100000+0xe lies "
                        "outside the");
    b = bytes_;
    put<uint64_t>(b, shdr(text) + 32, ~uint64_t{0});  // offset + size overflows
    expect_error(b, "(.text): data at offset");
}

TEST_F(ElfFileErrors, SymbolTable) {
    const size_t symtab = index(".symtab");
    auto b = bytes_;
    put<uint64_t>(b, shdr(symtab) + 56, 16);  // sh_entsize
    expect_error(b, "(.symtab): entry size 16, expected 24");
    b = bytes_;
    put<uint32_t>(b, shdr(symtab) + 40, static_cast<uint32_t>(index(".text")));  // sh_link
    expect_error(b, "(.symtab): sh_link");
    b = bytes_;
    put<uint32_t>(b, good_.sections()[symtab].offset + 24, 0x7fff0000);  // symbol 1's st_name
    expect_error(b, "symbol 1: name offset 0x7fff0000 lies outside");
}

TEST_F(ElfFileErrors, RelocationSymbolOutOfRange) {
    auto b = bytes_;
    const Section& rela = good_.sections()[index(".rela.text")];
    put<uint64_t>(b, rela.offset + 8, (uint64_t{9999} << 32) | 2);  // r_info
    expect_error(b, "symbol index 9999 is out of range");
}

TEST_F(ElfFileErrors, RelocationOffsetOutsideTarget) {
    auto b = bytes_;
    put<uint64_t>(b, good_.sections()[index(".rela.text")].offset, 12);  // 4-byte field at 12 of 14
    expect_error(b, "offset 0xc lies outside section");
    b = bytes_;
    put<uint64_t>(b, shdr(index(".rela.text")) + 56, 16);
    expect_error(b, "(.rela.text): entry size 16, expected 24");
}

// Every prefix and thousands of corrupted copies either parse or fail with Error.
TEST_F(ElfFileErrors, NoCrashOnDamage) {
    auto exercise = [](const std::vector<uint8_t>& b) {
        try {
            const File f = File::parse(b);
            for (size_t i = 0; i < f.sections().size(); ++i) {
                try {
                    f.relocations_for(i);
                } catch (const Error&) {
                }
                (void)f.symbolize(f.sections()[i].addr + 1);
            }
        } catch (const Error&) {
        }
    };
    for (size_t n = 0; n <= bytes_.size(); ++n) exercise({bytes_.begin(), bytes_.begin() + n});
    std::mt19937 rng(42);
    for (int round = 0; round < 5000; ++round) {
        auto b = bytes_;
        for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
        exercise(b);
    }
}

}  // namespace
}  // namespace previrt::elf
