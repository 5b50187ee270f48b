// PCI configuration space through configuration mechanism #1: CONFIG_ADDRESS
// at port 0xcf8 (enable bit 31, bus, device, function, dword register), then
// CONFIG_DATA at 0xcfc. Manual: PCI Local Bus Specification 3.0, 3.2.2.3.2
// "Software Generation of Configuration Transactions"; the header's fields are
// in chapter 6 ("Configuration Space"), class codes in Appendix D.
#pragma once

#include <stdint.h>

namespace guest::pci {

// `offset` is a byte offset into the function's 256-byte space; its low two bits
// are ignored (the mechanism addresses whole dwords). A function that is not
// there reads as all ones.
uint32_t config_read32(unsigned bus, unsigned device, unsigned function, unsigned offset);
void config_write32(unsigned bus, unsigned device, unsigned function, unsigned offset, uint32_t value);

// Finds every function reachable from the host bridges (bus 0, plus the
// secondary bus of every PCI-to-PCI bridge the firmware numbered), prints each
// one as "pci: 00:01.0 8086:7000 class 06.01" and returns how many there are.
unsigned scan();

// Whether the last scan saw a host bridge (class 06h, subclass 00h).
bool found_host_bridge();

}  // namespace guest::pci
