#include "devices/pci.h"

#include "kernel/console.h"
#include "kernel/spinlock.h"
#include "lib/port_io.h"
#include "pc/pci.h"

namespace guest::pci {
namespace {

using namespace previrt::pc::pci;

constexpr PortIo kConfigMechanism{kConfigAddressPort};

// The address and data accesses are one transaction: nothing may come between.
IrqSaveLock lock;

// One function's configuration space as an I/O object, so that the
// header's registers (pc/pci.h) read like any other.
class ConfigSpace {
public:
    ConfigSpace(unsigned bus, unsigned device, unsigned function) : bus_(bus), device_(device), function_(function) {}
    template <typename T>
    T read(uint32_t offset) const {
        static_assert(sizeof(T) == 4);
        return config_read32(bus_, device_, function_, offset);
    }
    template <typename T>
    void write(uint32_t offset, T v) const {
        static_assert(sizeof(T) == 4);
        config_write32(bus_, device_, function_, offset, v);
    }

private:
    unsigned bus_, device_, function_;
};

bool host_bridge;
uint32_t buses_seen[kBuses / 32];  // guards against a misnumbered bridge looping

unsigned scan_bus(unsigned bus);

unsigned scan_function(unsigned bus, unsigned device, unsigned function, const HeaderType& header) {
    ConfigSpace space(bus, device, function);
    Id id = Id::read_from(space);
    ClassCode cls = ClassCode::read_from(space);
    kprintf("pci: %02x:%02x.%x %04x:%04x class %02x.%02x\n", bus, device, function, id.get(Id::kVendor),
            id.get(Id::kDevice), cls.get(ClassCode::kBaseClass), cls.get(ClassCode::kSubclass));
    unsigned found = 1;
    if (cls.get(ClassCode::kBaseClass) == kClassBridge && cls.get(ClassCode::kSubclass) == kSubclassHost)
        host_bridge = true;
    if (cls.get(ClassCode::kBaseClass) == kClassBridge && cls.get(ClassCode::kSubclass) == kSubclassPciToPci &&
        header.get(HeaderType::kLayout) == kLayoutBridge) {
        unsigned secondary = BusNumbers::read_from(space).get(BusNumbers::kSecondary);
        if (secondary != 0) found += scan_bus(secondary);  // 0: the firmware left it unnumbered
    }
    return found;
}

unsigned scan_bus(unsigned bus) {
    uint32_t bit = 1u << (bus % 32);
    if (buses_seen[bus / 32] & bit) return 0;
    buses_seen[bus / 32] |= bit;

    unsigned found = 0;
    for (unsigned device = 0; device < kDevices; ++device) {
        // Function 0 exists in every device there is (6.2.1); only then are
        // the other seven worth asking about, and only if it says so.
        if (Id::read_from(ConfigSpace(bus, device, 0)).get(Id::kVendor) == kNoVendor) continue;
        HeaderType header0 = HeaderType::read_from(ConfigSpace(bus, device, 0));
        unsigned functions = header0.test(HeaderType::kMultifunction) ? kFunctions : 1;
        for (unsigned function = 0; function < functions; ++function) {
            ConfigSpace space(bus, device, function);
            if (function > 0 && Id::read_from(space).get(Id::kVendor) == kNoVendor) continue;
            HeaderType header = function == 0 ? header0 : HeaderType::read_from(space);
            found += scan_function(bus, device, function, header);
        }
    }
    return found;
}

// Selects a configuration dword; the caller holds the lock until it has used
// the data port.
void select(unsigned bus, unsigned device, unsigned function, unsigned offset) {
    ConfigAddress::from_value(0)
        .set(ConfigAddress::kEnable, 1)
        .set(ConfigAddress::kBus, bus)
        .set(ConfigAddress::kDevice, device)
        .set(ConfigAddress::kFunction, function)
        .set(ConfigAddress::kRegister, offset >> 2)
        .write_to(kConfigMechanism);
}

}  // namespace

uint32_t config_read32(unsigned bus, unsigned device, unsigned function, unsigned offset) {
    LockGuard g(lock);
    select(bus, device, function, offset);
    return ConfigData::read_from(kConfigMechanism).value();
}

void config_write32(unsigned bus, unsigned device, unsigned function, unsigned offset, uint32_t value) {
    LockGuard g(lock);
    select(bus, device, function, offset);
    ConfigData::from_value(value).write_to(kConfigMechanism);
}

unsigned scan() {
    // Following bridges, rather than asking all 256 buses, costs 32 probes per
    // bus that exists instead of 8192 in all: each probe is two port accesses,
    // and each is an exit when this runs virtualized.
    host_bridge = false;
    for (uint32_t& word : buses_seen) word = 0;
    return scan_bus(0);
}

bool found_host_bridge() { return host_bridge; }

}  // namespace guest::pci
