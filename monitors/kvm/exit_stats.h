// What a run's exits were: counted by kind and by port or address for --stats,
// and written one a line for --trace-exits (the format `previrt annotate`
// reads: "<rip> <kind> [detail]").
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

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
// window: the exits between the two writes, and the guest's instructions when
// they are counted.
class PostWindows {
public:
    // A POST code written; the counts so far, the code's own exit included.
    void mark(uint8_t code, uint64_t exits, uint64_t instructions, uint64_t instructions_in_vmm);
    bool open() const { return open_.has_value(); }
    // A line per closed window: "window K: E exits[, I guest instructions (J in the in-place VMM)]".
    std::string summary(bool instructions) const;

private:
    struct Window {
        uint8_t code;
        uint64_t exits, instructions, instructions_in_vmm;
    };
    std::optional<Window> open_;
    std::vector<Window> closed_;
};

}  // namespace previrt::kvm
