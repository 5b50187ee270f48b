#include "monitors/kvm/exit_stats.h"

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
        // The closing write's exit is not the window's.
        closed_.push_back({open_->code, exits - 1 - open_->exits, instructions - open_->instructions,
                           instructions_in_vmm - open_->instructions_in_vmm});
        open_.reset();
    }
    if (code) open_ = Window{code, exits, instructions, instructions_in_vmm};
}

std::string PostWindows::summary(bool instructions) const {
    std::string out;
    for (const Window& w : closed_) {
        out += fmt::format("window {}: {} exits", w.code, w.exits);
        if (instructions)
            out += fmt::format(", {} guest instructions ({} in the in-place VMM)", w.instructions, w.instructions_in_vmm);
        out += "\n";
    }
    return out;
}

}  // namespace previrt::kvm
