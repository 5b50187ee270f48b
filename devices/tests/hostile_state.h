// Snapshots as a party that writes them at will may leave them, for the tests
// that restore a device model from any bytes at all, and a byte-wise view of
// a snapshot that gtest prints when two differ.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <type_traits>
#include <vector>

namespace previrt::devices {

template <typename State>
std::vector<uint8_t> state_bytes(const State& state) {
    static_assert(std::is_trivially_copyable_v<State>);
    std::vector<uint8_t> bytes(sizeof(State));
    std::memcpy(bytes.data(), &state, sizeof(State));
    return bytes;
}

// All zeros, all ones, then `count` states (the same on every run) of four
// kinds in turn: random bytes; bytes drawn from the values that sit at the
// edges of a field (0, 1, 2, 0x7f, 0x80, 0xfe, 0xff); zeros with a few random
// bytes; and `real`, a state saved from a working device, with a few bytes
// changed.
template <typename State>
std::vector<State> hostile_states(const State& real, unsigned count, uint32_t seed) {
    static_assert(std::is_trivially_copyable_v<State>);
    constexpr uint8_t kEdges[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff};
    std::mt19937 rng(seed);
    auto byte = [&rng] { return static_cast<uint8_t>(rng()); };
    auto few = [&rng] { return 1 + rng() % 4; };

    std::vector<State> states;
    uint8_t raw[sizeof(State)];
    auto add = [&] {
        State s;
        std::memcpy(&s, raw, sizeof(State));
        states.push_back(s);
    };
    std::memset(raw, 0x00, sizeof raw);
    add();
    std::memset(raw, 0xff, sizeof raw);
    add();
    for (unsigned i = 0; i < count; ++i) {
        switch (i % 4) {
            case 0:
                for (uint8_t& b : raw) b = byte();
                break;
            case 1:
                for (uint8_t& b : raw) b = kEdges[rng() % sizeof kEdges];
                break;
            case 2:
                std::memset(raw, 0, sizeof raw);
                for (unsigned k = few(); k > 0; --k) raw[rng() % sizeof raw] = byte();
                break;
            default:
                std::memcpy(raw, &real, sizeof raw);
                for (unsigned k = few(); k > 0; --k) raw[rng() % sizeof raw] = byte();
                break;
        }
        add();
    }
    return states;
}

}  // namespace previrt::devices
