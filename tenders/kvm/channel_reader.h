// What previrt-vmm takes from the in-place VMM's channel besides the device
// states: the console ring, which the VMM fills and previrt-vmm drains, and
// the values the VMM writes to the doorbell port. Both are the guest's to
// write, so everything read is checked; a lie that can be named is a
// ChannelError. No VM behind it: InPlace serves the channel through it, and
// a fuzz target (tenders/kvm/fuzz) feeds it any page and any doorbell.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "vmm/kvm/channel.h"

namespace previrt::kvm {

// The guest broke the channel's rules (a ring's indices that cannot be, a
// doorbell that means nothing): the run stops with this message.
class ChannelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ChannelReader {
public:
    // `channel` is guest memory; the console ring's bytes go to `console`.
    ChannelReader(vmm::kvm::Channel& channel, std::FILE* console) : c_(channel), console_(console) {}
    ChannelReader(const ChannelReader&) = delete;
    ChannelReader& operator=(const ChannelReader&) = delete;

    // A write of `why` to kDoorbellPort (a vmm::kvm::Doorbell, if the guest
    // keeps the rules). Throws ChannelError.
    void doorbell(uint32_t why);
    // Moves the console ring's bytes to the console; throws ChannelError.
    // From any thread.
    void drain_console();

    // The monotonic time of the device clock's 0 (the VMM's hello); 0 before it.
    uint64_t host_origin() const { return host_origin_; }
    // Whether the vCPU stopped at a doorbell since the last call, and so at a
    // point where the device states are whole (all but kConsoleFull).
    bool take_at_doorbell() {
        bool at = at_doorbell_;
        at_doorbell_ = false;
        return at;
    }
    // How often the doorbell rang with `why` (0: with a value that means nothing).
    static constexpr unsigned kDoorbellKinds = 6;
    uint64_t rung(unsigned why) const { return why < kDoorbellKinds ? doorbells_[why] : 0; }

private:
    vmm::kvm::Channel& c_;
    std::FILE* console_;
    std::mutex console_lock_;
    uint64_t host_origin_ = 0;
    bool at_doorbell_ = false;
    uint64_t doorbells_[kDoorbellKinds] = {};
};

}  // namespace previrt::kvm
