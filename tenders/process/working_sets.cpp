#include "tenders/process/working_sets.h"

#include <algorithm>

namespace previrt::vmm::process {

void WorkingSets::touched(uint64_t root, uint64_t va) {
    va &= ~0xfffull;
    // An address space the guest freed leaves its entry behind; rather than
    // track that, start over when there are too many.
    if (sets_.size() >= kSpaces && !sets_.count(root)) sets_.clear();
    std::vector<uint64_t>& set = sets_[root];
    auto it = std::find(set.begin(), set.end(), va);
    if (it != set.end()) set.erase(it);
    if (set.size() >= kPagesPerSpace) set.erase(set.begin());
    set.push_back(va);
}

void WorkingSets::forget(uint64_t root, uint64_t va) {
    auto s = sets_.find(root);
    if (s == sets_.end()) return;
    auto it = std::find(s->second.begin(), s->second.end(), va & ~0xfffull);
    if (it != s->second.end()) s->second.erase(it);
}

const std::vector<uint64_t>& WorkingSets::pages(uint64_t root) const {
    auto s = sets_.find(root);
    return s == sets_.end() ? none_ : s->second;
}

}  // namespace previrt::vmm::process
