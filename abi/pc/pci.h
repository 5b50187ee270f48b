// PCI configuration mechanism #1 and the configuration header's registers,
// declared once for the guest's driver and the device models. Manual: PCI
// Local Bus Specification 3.0, 3.2.2.3.2 "Software Generation of
// Configuration Transactions" and chapter 6 ("Configuration Space"), class
// codes in Appendix D; PCI-to-PCI Bridge Architecture Specification 1.2,
// chapter 3 (the type 1 header).
#pragma once

#include <stdint.h>

#include "pc/hwreg.h"

namespace previrt::pc::pci {

// CONFIG_ADDRESS at 0cf8h selects a bus, device, function and dword;
// CONFIG_DATA at 0cfch-0cffh reads or writes it.
inline constexpr uint16_t kConfigAddressPort = 0xcf8;
inline constexpr uint16_t kConfigDataPort = 0xcfc;
inline constexpr uint16_t kConfigPorts = 8;  // 0cf8h-0cffh
inline constexpr unsigned kBuses = 256, kDevices = 32, kFunctions = 8;

// Offsets from kConfigAddressPort. Figure 3-1: bits 30:24 are reserved and
// read as zero; bits 1:0 are read-only zero, the register selecting whole dwords.
struct ConfigAddress : hwreg::Register<ConfigAddress, uint32_t> {
    static constexpr uint32_t kOffset = 0;
    static constexpr Field kRegister{7, 2}, kFunction{10, 8}, kDevice{15, 11}, kBus{23, 16}, kEnable{31};
    static constexpr uint32_t kWritable =
        kEnable.mask() | kBus.mask() | kDevice.mask() | kFunction.mask() | kRegister.mask();
};
struct ConfigData : hwreg::Register<ConfigData, uint32_t> {
    static constexpr uint32_t kOffset = kConfigDataPort - kConfigAddressPort;
};

// The type 0 header's byte offsets, 6.1 (Figure 6-1).
inline constexpr uint8_t kVendorId = 0x00;
inline constexpr uint8_t kDeviceId = 0x02;
inline constexpr uint8_t kCommand = 0x04;
inline constexpr uint8_t kStatus = 0x06;
inline constexpr uint8_t kRevisionId = 0x08;
inline constexpr uint8_t kClassCode = 0x09;  // three bytes: programming interface, subclass, base class
inline constexpr uint8_t kHeaderType = 0x0e;
inline constexpr uint8_t kSubsystemVendorId = 0x2c;
inline constexpr uint8_t kSubsystemId = 0x2e;

// The same header as the dwords the configuration mechanism reads.
struct Id : hwreg::Register<Id, uint32_t> {
    static constexpr uint32_t kOffset = kVendorId;
    static constexpr Field kVendor{15, 0}, kDevice{31, 16};
};
// An absent function reads as all ones, and FFFFh is no valid vendor ID (6.2.1).
inline constexpr uint32_t kNoVendor = 0xffff;

struct ClassCode : hwreg::Register<ClassCode, uint32_t> {
    static constexpr uint32_t kOffset = kRevisionId;
    static constexpr Field kRevision{7, 0}, kInterface{15, 8}, kSubclass{23, 16}, kBaseClass{31, 24};
};
// Appendix D: base class 06h is bridges; subclass 00h host, 04h PCI-to-PCI.
inline constexpr uint32_t kClassBridge = 0x06, kSubclassHost = 0x00, kSubclassPciToPci = 0x04;

struct HeaderType : hwreg::Register<HeaderType, uint32_t> {
    static constexpr uint32_t kOffset = 0x0c;
    static constexpr Field kLayout{22, 16};     // 00h: a device, 01h: a PCI-to-PCI bridge
    static constexpr Field kMultifunction{23};  // functions 1-7 may exist
};
inline constexpr uint32_t kLayoutDevice = 0x00, kLayoutBridge = 0x01;

// The type 1 header, offset 18h: the bus numbers the bridge forwards to.
struct BusNumbers : hwreg::Register<BusNumbers, uint32_t> {
    static constexpr uint32_t kOffset = 0x18;
    static constexpr Field kPrimary{7, 0}, kSecondary{15, 8};
};

}  // namespace previrt::pc::pci
