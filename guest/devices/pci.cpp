#include "devices/pci.h"

#include "kernel/console.h"
#include "kernel/spinlock.h"
#include "lib/hwreg.h"

namespace guest::pci {
namespace {

constexpr unsigned kBuses = 256, kDevices = 32, kFunctions = 8;

// PCI 3.0, 3.2.2.3.2: CONFIG_ADDRESS, a dword at 0cf8h.
constexpr hwreg::PortIo kConfigAddressPort{0xcf8};
constexpr hwreg::PortIo kConfigDataPort{0xcfc};
struct ConfigAddress : hwreg::Register<ConfigAddress, uint32_t> {
    static constexpr uint32_t kOffset = 0;
    HWREG_FIELD(7, 2, dword);  // bits 1:0 are read-only zero: whole dwords only
    HWREG_FIELD(10, 8, function);
    HWREG_FIELD(15, 11, device);
    HWREG_FIELD(23, 16, bus);
    HWREG_BIT(31, enable);
};
struct ConfigData : hwreg::Register<ConfigData, uint32_t> {
    static constexpr uint32_t kOffset = 0;
};

// The address and data accesses are one transaction: nothing may come between.
IrqSaveLock lock;

// One function's configuration space as an I/O object, so the header's
// registers below read like any other hwreg register.
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

// The header's first dwords, PCI 3.0, 6.1 (Figure 6-1) and 6.2.1.
struct Id : hwreg::Register<Id, uint32_t> {
    static constexpr uint32_t kOffset = 0x00;
    HWREG_FIELD(15, 0, vendor);
    HWREG_FIELD(31, 16, device);
};
// An absent function reads as all ones, and FFFFh is no valid vendor ID (6.2.1).
constexpr uint32_t kNoVendor = 0xffff;

struct ClassCode : hwreg::Register<ClassCode, uint32_t> {
    static constexpr uint32_t kOffset = 0x08;
    HWREG_FIELD(7, 0, revision);
    HWREG_FIELD(15, 8, interface);
    HWREG_FIELD(23, 16, subclass);
    HWREG_FIELD(31, 24, base_class);
};
// Appendix D: base class 06h is bridges; subclass 00h host, 04h PCI-to-PCI.
constexpr uint32_t kClassBridge = 0x06, kSubclassHost = 0x00, kSubclassPciToPci = 0x04;

struct HeaderType : hwreg::Register<HeaderType, uint32_t> {
    static constexpr uint32_t kOffset = 0x0c;
    HWREG_FIELD(22, 16, layout);   // 00h: a device, 01h: a PCI-to-PCI bridge
    HWREG_BIT(23, multifunction);  // functions 1-7 may exist
};
constexpr uint32_t kLayoutBridge = 0x01;

// PCI-to-PCI Bridge Architecture Specification 1.2, chapter 3 (the type 1
// header, offset 18h): the bus numbers the bridge forwards to.
struct BusNumbers : hwreg::Register<BusNumbers, uint32_t> {
    static constexpr uint32_t kOffset = 0x18;
    HWREG_FIELD(7, 0, primary);
    HWREG_FIELD(15, 8, secondary);
};

bool host_bridge;
uint32_t buses_seen[kBuses / 32];  // guards against a misnumbered bridge looping

unsigned scan_bus(unsigned bus);

unsigned scan_function(unsigned bus, unsigned device, unsigned function, const HeaderType& header) {
    ConfigSpace space(bus, device, function);
    Id id = Id::read_from(space);
    ClassCode cls = ClassCode::read_from(space);
    kprintf("pci: %02x:%02x.%x %04x:%04x class %02x.%02x\n", bus, device, function, id.vendor(), id.device(),
            cls.base_class(), cls.subclass());
    unsigned found = 1;
    if (cls.base_class() == kClassBridge && cls.subclass() == kSubclassHost) host_bridge = true;
    if (cls.base_class() == kClassBridge && cls.subclass() == kSubclassPciToPci && header.layout() == kLayoutBridge) {
        unsigned secondary = BusNumbers::read_from(space).secondary();
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
        if (Id::read_from(ConfigSpace(bus, device, 0)).vendor() == kNoVendor) continue;
        HeaderType header0 = HeaderType::read_from(ConfigSpace(bus, device, 0));
        unsigned functions = header0.multifunction() ? kFunctions : 1;
        for (unsigned function = 0; function < functions; ++function) {
            ConfigSpace space(bus, device, function);
            if (function > 0 && Id::read_from(space).vendor() == kNoVendor) continue;
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
        .set_enable(1)
        .set_bus(bus)
        .set_device(device)
        .set_function(function)
        .set_dword(offset >> 2)
        .write_to(kConfigAddressPort);
}

}  // namespace

uint32_t config_read32(unsigned bus, unsigned device, unsigned function, unsigned offset) {
    LockGuard g(lock);
    select(bus, device, function, offset);
    return ConfigData::read_from(kConfigDataPort).value();
}

void config_write32(unsigned bus, unsigned device, unsigned function, unsigned offset, uint32_t value) {
    LockGuard g(lock);
    select(bus, device, function, offset);
    ConfigData::from_value(value).write_to(kConfigDataPort);
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
