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

}  // namespace previrt::kvm
