// What a run's exits were: counted by kind and by port or address for --stats,
// and written one a line for --trace-exits (the format `previrt annotate`
// reads: "<rip> <kind> [detail]").
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
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

}  // namespace previrt::kvm
