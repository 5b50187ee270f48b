#include "devices/port_bus.h"

#include <algorithm>
#include <utility>

namespace previrt::devices {
namespace {

constexpr bool valid_size(unsigned size) { return size == 1 || size == 2 || size == 4; }

constexpr uint32_t size_mask(unsigned size) { return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }

}  // namespace

bool PortBus::add(uint16_t first, uint16_t count, PortDevice& device, const char* name) {
    uint32_t end = uint32_t{first} + count;
    if (count == 0 || end > 0x10000 || count_ == kMaxRanges) return false;
    Range* next = std::upper_bound(ranges_, ranges_ + count_, uint32_t{first},
                                   [](uint32_t port, const Range& r) { return port < r.first; });
    if (next != ranges_ + count_ && next->first < end) return false;
    if (next != ranges_ && (next - 1)->end > first) return false;
    std::move_backward(next, ranges_ + count_, ranges_ + count_ + 1);
    *next = Range{first, end, &device, name ? name : ""};
    ++count_;
    return true;
}

const PortBus::Range* PortBus::range_of(uint16_t port) const {
    const Range* next = std::upper_bound(ranges_, ranges_ + count_, uint32_t{port},
                                         [](uint32_t p, const Range& r) { return p < r.first; });
    if (next == ranges_) return nullptr;
    const Range& r = *(next - 1);
    return port < r.end ? &r : nullptr;
}

PortDevice* PortBus::find(uint16_t port) const {
    const Range* r = range_of(port);
    return r ? r->device : nullptr;
}

std::string_view PortBus::name(uint16_t port) const {
    const Range* r = range_of(port);
    if (!r) return {};
    size_t n = 0;  // by hand: a freestanding build has no strlen
    while (r->name[n]) ++n;
    return {r->name, n};
}

bool PortBus::read(uint16_t port, unsigned size, uint32_t& value) {
    value = 0xffffffff;
    if (!valid_size(size)) return false;
    PortDevice* device = find(port);
    if (!device) {
        value = size_mask(size);
        return false;
    }
    value = device->read(port, size) & size_mask(size);
    return true;
}

bool PortBus::write(uint16_t port, unsigned size, uint32_t value) {
    if (!valid_size(size)) return false;
    PortDevice* device = find(port);
    if (!device) return false;
    device->write(port, size, value & size_mask(size));
    return true;
}

}  // namespace previrt::devices
