// The subcommands' one option parser: what it takes and how it refuses.
#include "tools/previrt/options.h"

#include <gtest/gtest.h>

namespace previrt::cli {
namespace {

struct Parsed {
    bool flag = false;
    std::string text;
    unsigned long number = 0;
    std::vector<std::string> files;
};

int parse(Parsed& p, const Args& args) {
    OptionParser options("test", "usage: previrt test [--flag] [--text T] [--count N] FILE [FILE]\n");
    options.flag("--flag", [&] { p.flag = true; })
        .value("--text",
               [&](const std::string& v) {
                   if (v == "bad") return std::string("--text will not take 'bad'");
                   p.text = v;
                   return std::string();
               })
        .number("--count", 10, "", [&](unsigned long n) { p.number = n; })
        .positionals(p.files, 1, 2);
    return options.parse(args);
}

TEST(OptionParser, TakesOptionsAndArgumentsInAnyOrder) {
    Parsed p;
    EXPECT_EQ(parse(p, {"a.elf", "--text", "x y", "--flag", "--count", "10", "b.elf"}), -1);
    EXPECT_TRUE(p.flag);
    EXPECT_EQ(p.text, "x y");
    EXPECT_EQ(p.number, 10u);
    EXPECT_EQ(p.files, (std::vector<std::string>{"a.elf", "b.elf"}));
}

TEST(OptionParser, RefusesWhatItCannotTakeWithStatusTwo) {
    for (const Args& args : std::vector<Args>{{"--bogus", "a"}, {"a", "--text"}, {"a", "--text", "bad"},
                                             {"a", "--count", "11"}, {"a", "--count", "0"}, {"a", "--count", "-1"},
                                             {"a", "--count", "1x"}, {"a", "b", "c"}, {}}) {
        Parsed p;
        testing::internal::CaptureStderr();
        EXPECT_EQ(parse(p, args), kExitUsage) << testing::PrintToString(args);
        EXPECT_FALSE(testing::internal::GetCapturedStderr().empty());
    }
    Parsed p;
    testing::internal::CaptureStdout();
    EXPECT_EQ(parse(p, {"--help"}), kExitOk);
    EXPECT_NE(testing::internal::GetCapturedStdout().find("usage: previrt test"), std::string::npos);
}

TEST(OptionParser, WholeNumbersStopAtTheirLimitWithoutOverflow) {
    unsigned long n = 7;
    EXPECT_TRUE(whole_number("4294967295", 0xffffffff, n));
    EXPECT_EQ(n, 0xffffffffu);
    EXPECT_FALSE(whole_number("4294967296", 0xffffffff, n));
    EXPECT_FALSE(whole_number("99999999999999999999999", 0xffffffff, n));
    EXPECT_FALSE(whole_number("", 10, n));
    EXPECT_FALSE(whole_number("+5", 10, n));
    EXPECT_EQ(n, 0xffffffffu);
}

}  // namespace
}  // namespace previrt::cli
