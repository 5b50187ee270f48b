// previrt-vmm's counts of the windows a guest marks with POST codes.
#include "tenders/kvm/exit_stats.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace previrt::kvm {
namespace {

TEST(PostWindowsTest, CountsWhatLiesBetweenACodeAndTheNext) {
    PostWindows w;
    EXPECT_FALSE(w.open());
    w.mark(1, 10, 100, 0);  // the opening write was exit 10
    EXPECT_TRUE(w.open());
    w.mark(0, 15, 160, 40);  // four exits between, the closing one (15) not counted
    EXPECT_FALSE(w.open());
    w.mark(2, 20, 200, 40);
    w.mark(3, 21, 210, 45);  // a new code closes the open window
    w.mark(0, 22, 210, 45);
    EXPECT_EQ(w.summary(false), "window 1: 4 exits\nwindow 2: 0 exits\nwindow 3: 0 exits\n");
    EXPECT_EQ(w.summary(true).rfind("window 1: 4 exits, 60 guest instructions (40 in the in-place VMM)\n", 0), 0u);
}

TEST(PostWindowsTest, AGuestThatWritesCodesForeverCostsNoMemory) {
    PostWindows w;
    uint64_t exits = 0;
    for (int i = 0; i < 100000; ++i) {
        w.mark(static_cast<uint8_t>(1 + i % 255), ++exits, 0, 0);
        w.mark(0, ++exits, 0, 0);
    }
    std::string s = w.summary(false);
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 255);
    EXPECT_NE(s.find("window 1: 0 exits, over 393 windows\n"), std::string::npos);
}

}  // namespace
}  // namespace previrt::kvm
