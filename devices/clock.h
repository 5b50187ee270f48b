// Time as a device model sees it: a monotonic count of nanoseconds from any
// origin. The caller decides where it comes from (CLOCK_MONOTONIC in a monitor,
// a counter a test advances by hand), so a model never reads the host's clock
// and a test of its timing runs in no time at all.
#pragma once

#include <cstdint>

namespace previrt::devices {

class Clock {
public:
    // Never goes back.
    virtual uint64_t now_ns() const = 0;

protected:
    // Never deleted through this interface: no virtual destructor, so the
    // models need no operator delete (they build freestanding).
    ~Clock() = default;
};

}  // namespace previrt::devices
