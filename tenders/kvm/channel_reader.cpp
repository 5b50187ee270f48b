#include "tenders/kvm/channel_reader.h"

#include <fmt/format.h>

#include <algorithm>

#include "devices/host_clock.h"

namespace previrt::kvm {

using namespace vmm::kvm;

void ChannelReader::doorbell(uint32_t why) {
    ++doorbells_[why < kDoorbellKinds ? why : 0];
    // The VMM rings kConsoleFull in the middle of an access, before it saves
    // the devices: the states stay its own until it is done.
    at_doorbell_ = why != kConsoleFull;
    switch (why) {
    case kHello:
        if (!c_.started) throw ChannelError("the in-place VMM said hello before starting its clock");
        host_origin_ = devices::monotonic_now_ns() - 1;  // never 0: 0 means "no hello yet"
        return;
    case kInterrupt:
    case kTimer: return;  // InPlace::before_run looks at the states
    case kConsoleFull: drain_console(); return;
    case kBadCall:
        throw ChannelError(fmt::format("it entered the in-place VMM with {:#x} (returning to {:#x}), which is neither a "
                                       "rewritten site nor a para-virtual operation KVM's interface offers",
                                       c_.bad_call, c_.bad_call_from));
    default: throw ChannelError(fmt::format("the in-place VMM rang the doorbell with {}, which means nothing", why));
    }
}

void ChannelReader::drain_console() {
    std::lock_guard g(console_lock_);
    ConsoleRing& ring = c_.console;
    // Each index read once: the guest may change them meanwhile.
    uint32_t head = __atomic_load_n(&ring.head, __ATOMIC_ACQUIRE);
    uint32_t tail = __atomic_load_n(&ring.tail, __ATOMIC_RELAXED);
    uint32_t waiting = head - tail;
    if (waiting > kConsoleSize)
        throw ChannelError(fmt::format("the console ring says {} bytes wait (head {}, tail {}), more than it holds ({})",
                                       waiting, head, tail, kConsoleSize));
    uint32_t start = tail % kConsoleSize, first = std::min(waiting, kConsoleSize - start);
    std::fwrite(ring.data + start, 1, first, console_);
    std::fwrite(ring.data, 1, waiting - first, console_);
    if (waiting) std::fflush(console_);
    __atomic_store_n(&ring.tail, head, __ATOMIC_RELEASE);
}

}  // namespace previrt::kvm
