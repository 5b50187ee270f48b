// A fuzz target's input read from the front, a value at a time, for the
// targets that take their input as a run of steps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace previrt::test {

struct FuzzInput {
    const uint8_t* data;
    size_t size;
    // The next sizeof(T) bytes into `out`; false, and nothing taken, if fewer are left.
    template <typename T>
    bool take(T& out) {
        if (size < sizeof(T)) return false;
        std::memcpy(&out, data, sizeof(T));
        data += sizeof(T);
        size -= sizeof(T);
        return true;
    }
};

}  // namespace previrt::test
