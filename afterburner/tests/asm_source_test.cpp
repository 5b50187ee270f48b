#include "afterburner/asm_source.h"

#include <gtest/gtest.h>

namespace previrt::afterburner {
namespace {

std::vector<Statement> statements(std::string_view text) { return split_statements(text, "t.s"); }

TEST(AsmSource, SplitsAtSemicolonsOutsideStringsAndComments) {
    auto s = statements("cli; sti # a; b\n.ascii \"x;y#z\"; hlt /* ; */ ; nop\n");
    ASSERT_EQ(s.size(), 5u);
    EXPECT_EQ(s[0].text, "cli");
    EXPECT_EQ(s[1].text, "sti");
    EXPECT_EQ(s[2].text, ".ascii \"x;y#z\"");
    EXPECT_EQ(s[3].text, "hlt");
    EXPECT_EQ(s[4].text, "nop");
    EXPECT_EQ(s[1].line, 0u);
    EXPECT_EQ(s[4].line, 1u);
}

TEST(AsmSource, BlockCommentsSpanLines) {
    auto s = statements("cli /* one\n two; cli\n three */ sti\n");
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].text, "cli");
    EXPECT_EQ(s[1].text, "sti");
    EXPECT_EQ(s[1].line, 2u);
}

TEST(AsmSource, CharacterConstantsDoNotOpenStrings) {
    auto s = statements("movb $'\", %al; cli\nmovb $'#, %al; sti\n");
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[1].text, "cli");
    EXPECT_EQ(s[3].text, "sti");
}

TEST(AsmSource, SlashAtLineStartIsAComment) {
    auto s = statements("/ cli\n  / sti\nhlt\n");
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].text, "hlt");
}

TEST(AsmSource, LineMarkersGiveTheOriginalFileAndLine) {
    auto s = statements("# 1 \"entry.S\"\n# 40 \"entry.S\"\ncli\n\nsti\n");
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(*s[0].source_file, "entry.S");
    EXPECT_EQ(s[0].source_line, 40u);
    EXPECT_EQ(s[1].source_line, 42u);
}

TEST(AsmSource, ParsesLabelsPrefixesAndOperands) {
    Instruction i = parse_instruction("1: foo: lock incl (%rax)");
    ASSERT_EQ(i.labels.size(), 2u);
    EXPECT_EQ(i.labels[1], "foo");
    ASSERT_EQ(i.prefixes.size(), 1u);
    EXPECT_EQ(i.prefixes[0], "lock");
    EXPECT_EQ(i.mnemonic, "incl");
    EXPECT_EQ(i.operands, "(%rax)");
    EXPECT_EQ(std::string_view("1: foo: lock incl (%rax)").substr(i.head, 4), "lock");

    Instruction r = parse_instruction("REP OUTSB");
    EXPECT_EQ(r.mnemonic, "outsb");
    EXPECT_EQ(r.prefixes.at(0), "rep");

    Instruction only = parse_instruction("rep");
    EXPECT_TRUE(only.mnemonic.empty());
    EXPECT_EQ(only.prefixes.size(), 1u);
}

TEST(AsmSource, SplitsOperandsAtTopLevelCommas) {
    auto ops = split_operands("0x10(%rax,%rbx,8), %cr3");
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0], "0x10(%rax,%rbx,8)");
    EXPECT_EQ(ops[1], "%cr3");
    EXPECT_TRUE(split_operands("").empty());
}

}  // namespace
}  // namespace previrt::afterburner
