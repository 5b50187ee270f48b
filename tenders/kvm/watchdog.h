// --timeout: a thread that calls `fire` once the time limit has passed,
// unless its owner goes first; the owner's destructor stops and joins it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace previrt::kvm {

class Watchdog {
public:
    Watchdog(std::chrono::milliseconds limit, std::function<void()> fire);
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    // Whether the limit passed (set before `fire` is called).
    bool fired() const { return fired_; }

private:
    std::function<void()> fire_;
    std::atomic<bool> fired_{false};
    std::mutex lock_;
    std::condition_variable stop_;
    bool stopping_ = false;
    std::thread thread_;  // last: it starts once the rest is there
};

}  // namespace previrt::kvm
