#include "tenders/kvm/exit_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace previrt::kvm {

void ExitStats::count(const std::string& kind, uint64_t where) {
    ++by_kind_[kind];
    ++by_place_[{kind, where}];
    ++total_;
}

std::string ExitStats::summary() const {
    std::string out = fmt::format("exits: {} in all\n", total_);
    for (const auto& [kind, n] : by_kind_) {
        std::vector<std::pair<uint64_t, uint64_t>> places;  // (count, where)
        for (const auto& [key, c] : by_place_)
            if (key.first == kind) places.emplace_back(c, key.second);
        std::sort(places.rbegin(), places.rend());
        out += fmt::format("  {:<10} {:>10}", kind, n);
        for (size_t i = 0; i < places.size() && i < 6; ++i)
            out += fmt::format("{}{:#x}: {}", i ? ", " : "  (", places[i].second, places[i].first);
        out += places.empty() ? "\n" : ")\n";
    }
    return out;
}

void PostWindows::mark(uint8_t code, uint64_t exits, uint64_t instructions, uint64_t instructions_in_vmm) {
    if (open_) {
        Counts& c = closed_[open_->code];
        if (exits > open_->exits) c.exits += exits - 1 - open_->exits;  // the closing write's exit is not the window's
        c.instructions += instructions - open_->instructions;
        c.instructions_in_vmm += instructions_in_vmm - open_->instructions_in_vmm;
        ++c.windows;
        open_.reset();
    }
    if (code) open_ = Open{code, exits, instructions, instructions_in_vmm};
}

std::string PostWindows::summary(bool instructions) const {
    std::string out;
    for (const auto& [code, c] : closed_) {
        out += fmt::format("window {}: {} exits", code, c.exits);
        if (instructions)
            out += fmt::format(", {} guest instructions ({} in the in-place VMM)", c.instructions, c.instructions_in_vmm);
        if (c.windows > 1) out += fmt::format(", over {} windows", c.windows);
        out += "\n";
    }
    return out;
}

}  // namespace previrt::kvm
