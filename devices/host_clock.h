// The host side of device time, for the monitors and the process hypervisor
// (hosted code only; the models themselves see nothing but devices::Clock):
// CLOCK_MONOTONIC as a Clock, and a POSIX timer armed at such a time.
#pragma once

#include <time.h>

#include <cstdint>

#include "devices/clock.h"

namespace previrt::devices {

inline uint64_t monotonic_now_ns() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000 + uint64_t(t.tv_nsec);
}

class MonotonicClock final : public Clock {
public:
    uint64_t now_ns() const override { return monotonic_now_ns(); }
};

// Arms a CLOCK_MONOTONIC timer to fire once at `at` (monotonic_now_ns()
// time); UINT64_MAX disarms it.
inline void arm_timer_at(timer_t timer, uint64_t at) {
    itimerspec t{};
    if (at != UINT64_MAX) {
        t.it_value.tv_sec = time_t(at / 1'000'000'000);
        t.it_value.tv_nsec = long(at % 1'000'000'000);
        if (!t.it_value.tv_sec && !t.it_value.tv_nsec) t.it_value.tv_nsec = 1;  // zero would disarm
    }
    timer_settime(timer, TIMER_ABSTIME, &t, nullptr);
}

// Sleeps until `at` (monotonic_now_ns() time), or for a second if `at` is
// UINT64_MAX; a signal (a kick) ends the sleep sooner.
inline void sleep_until(uint64_t at) {
    timespec t{};
    if (at == UINT64_MAX) {
        t.tv_sec = 1;
        clock_nanosleep(CLOCK_MONOTONIC, 0, &t, nullptr);
    } else {
        t.tv_sec = time_t(at / 1'000'000'000);
        t.tv_nsec = long(at % 1'000'000'000);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr);
    }
}

}  // namespace previrt::devices
