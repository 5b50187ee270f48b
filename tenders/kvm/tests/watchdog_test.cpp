// --timeout's watchdog: it fires once, and never once its owner has gone.
#include "tenders/kvm/watchdog.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace previrt::kvm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(WatchdogTest, FiresOnceTheLimitHasPassed) {
    std::mutex m;
    std::condition_variable cv;
    int fired = 0;
    Watchdog w(20ms, [&] {
        std::lock_guard g(m);
        ++fired;
        cv.notify_all();
    });
    std::unique_lock l(m);
    ASSERT_TRUE(cv.wait_for(l, 10s, [&] { return fired > 0; }));
    EXPECT_TRUE(w.fired());
    EXPECT_EQ(fired, 1);
}

TEST(WatchdogTest, StoppedEarlyItNeverFires) {
    bool fired = false;
    auto start = Clock::now();
    {
        Watchdog w(1h, [&] { fired = true; });
        EXPECT_FALSE(w.fired());
    }
    EXPECT_FALSE(fired);
    EXPECT_LT(Clock::now() - start, 5s);
}

}  // namespace
}  // namespace previrt::kvm
