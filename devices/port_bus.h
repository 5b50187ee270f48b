// The I/O port address space: which device answers which port. Lookup and
// dispatch only; what to do with a port nobody claims (log it, return all
// ones) is the caller's policy.
#pragma once

#include <cstdint>
#include <string_view>

#include "devices/port_device.h"

namespace previrt::devices {

class PortBus {
public:
    // Claims ports [first, first + count) for `device`, which must outlive the
    // bus; `name` (which must too: a string literal) is for the caller's
    // messages. Returns false, and claims nothing, if the range is empty, runs
    // past port 0xffff, overlaps a range already claimed, or the bus holds
    // kMaxRanges already.
    static constexpr unsigned kMaxRanges = 32;
    bool add(uint16_t first, uint16_t count, PortDevice& device, const char* name);

    // The device that claimed `port`, or nullptr.
    PortDevice* find(uint16_t port) const;
    // Its name, or an empty view.
    std::string_view name(uint16_t port) const;

    // Dispatch by the access's first port: a wide access that runs past the
    // device's range still goes to that device, as it would on the ISA bus.
    // False for an unclaimed port or a size other than 1, 2 or 4; a failed
    // read leaves all ones in `value`. A read's value is trimmed to `size`
    // bytes, and so is a write's before the device sees it.
    bool read(uint16_t port, unsigned size, uint32_t& value);
    bool write(uint16_t port, unsigned size, uint32_t value);

private:
    struct Range {
        uint32_t first, end;  // end is one past the last port; 32 bits so 0xffff can be the last
        PortDevice* device;
        const char* name;
    };
    const Range* range_of(uint16_t port) const;

    // Sorted by first, disjoint; a fixed array, so that the bus needs no
    // allocation (it builds freestanding, for an in-place VMM).
    Range ranges_[kMaxRanges] = {};
    unsigned count_ = 0;
};

}  // namespace previrt::devices
