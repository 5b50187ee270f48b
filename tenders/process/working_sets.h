// The user pages each guest address space touched, remembered across address
// space switches. The host mappings of guest user mode are a TLB that a CR3
// load empties; refilling it one fault at a time costs a stop of the user
// process per page. On a switch back, the backend maps the remembered pages
// the guest's page tables still allow, all in one batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace previrt::vmm::process {

class WorkingSets {
public:
    // The page holding `va` was mapped for the address space at `root`.
    void touched(uint64_t root, uint64_t va);
    // invlpg: the page is no longer known to be mapped.
    void forget(uint64_t root, uint64_t va);
    // The pages remembered for `root`, most recent last; empty if none.
    const std::vector<uint64_t>& pages(uint64_t root) const;

    static constexpr size_t kPagesPerSpace = 64;
    static constexpr size_t kSpaces = 64;

private:
    std::unordered_map<uint64_t, std::vector<uint64_t>> sets_;
    std::vector<uint64_t> none_;
};

}  // namespace previrt::vmm::process
