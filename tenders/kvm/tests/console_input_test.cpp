// The console-input thread: each byte delivered in order, and the thread
// ends with its input or when its owner goes.
#include "tenders/kvm/console_input.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace previrt::kvm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ConsoleInputTest : public ::testing::Test {
protected:
    ConsoleInputTest() { EXPECT_EQ(pipe(fds), 0); }
    ~ConsoleInputTest() override {
        for (int fd : fds)
            if (fd >= 0) close(fd);
    }
    void deliver(uint8_t byte) {
        std::lock_guard g(m);
        got.push_back(static_cast<char>(byte));
        cv.notify_all();
    }
    bool wait_for(size_t n) {
        std::unique_lock l(m);
        return cv.wait_for(l, 10s, [&] { return got.size() >= n; });
    }
    int fds[2] = {-1, -1};
    std::mutex m;
    std::condition_variable cv;
    std::string got;
};

TEST_F(ConsoleInputTest, DeliversEachByteInOrder) {
    ConsoleInput input(fds[0], [this](uint8_t byte) { deliver(byte); });
    ASSERT_EQ(write(fds[1], "abc", 3), 3);
    ASSERT_TRUE(wait_for(3));
    ASSERT_EQ(write(fds[1], "\n", 1), 1);
    ASSERT_TRUE(wait_for(4));
    std::lock_guard g(m);
    EXPECT_EQ(got, "abc\n");
}

TEST_F(ConsoleInputTest, EndsWithTheInputOrWhenItsOwnerGoes) {
    auto start = Clock::now();
    {
        ConsoleInput idle(fds[0], [this](uint8_t byte) { deliver(byte); });
    }
    EXPECT_LT(Clock::now() - start, 5s);
    {
        ConsoleInput input(fds[0], [this](uint8_t byte) { deliver(byte); });
        ASSERT_EQ(write(fds[1], "x", 1), 1);
        close(fds[1]);
        fds[1] = -1;
        ASSERT_TRUE(wait_for(1));
    }
    std::lock_guard g(m);
    EXPECT_EQ(got, "x");
}

}  // namespace
}  // namespace previrt::kvm
