// The guest's console input: a thread polls a file descriptor (standard
// input) and hands each byte to `deliver`, until the input ends or its owner
// goes; the owner's destructor stops and joins it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

namespace previrt::kvm {

class ConsoleInput {
public:
    ConsoleInput(int fd, std::function<void(uint8_t)> deliver);
    ~ConsoleInput();
    ConsoleInput(const ConsoleInput&) = delete;
    ConsoleInput& operator=(const ConsoleInput&) = delete;

private:
    void loop();

    int fd_;
    std::function<void(uint8_t)> deliver_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;  // last: it starts once the rest is there
};

}  // namespace previrt::kvm
