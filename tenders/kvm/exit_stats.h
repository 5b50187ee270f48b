// What a run's exits were: counted by kind and by port or address for --stats,
// and written one a line for --trace-exits (the format `previrt annotate`
// reads: "<rip> <kind> [detail]").
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

namespace previrt::kvm {

class ExitStats {
public:
    void count(const std::string& kind, uint64_t where);
    uint64_t total() const { return total_; }
    // "io 12345 (0x3f8 9000, 0xf4 1), mmio 3, ..." style summary, a line per kind.
    std::string summary() const;

private:
    std::map<std::string, uint64_t> by_kind_;
    std::map<std::pair<std::string, uint64_t>, uint64_t> by_place_;
    uint64_t total_ = 0;
};

// Stretches of the run the guest marks with POST codes (devices/post_port.h):
// code k opens window k, 0 closes it (and so does the next code). For each
// code: the exits between the two writes, and the guest's instructions when
// they are counted, summed over the windows it opened (at most 255 codes, so
// a guest that writes codes all day costs no memory).
class PostWindows {
public:
    // A POST code written; the counts so far, the code's own exit included.
    void mark(uint8_t code, uint64_t exits, uint64_t instructions, uint64_t instructions_in_vmm);
    bool open() const { return open_.has_value(); }
    // A line per code, in order: "window K: E exits[, I guest instructions (J
    // in the in-place VMM)][, over N windows]".
    std::string summary(bool instructions) const;

private:
    struct Counts {
        uint64_t exits = 0, instructions = 0, instructions_in_vmm = 0, windows = 0;
    };
    struct Open {
        uint8_t code;
        uint64_t exits, instructions, instructions_in_vmm;
    };
    std::optional<Open> open_;
    std::map<uint8_t, Counts> closed_;
};

}  // namespace previrt::kvm
