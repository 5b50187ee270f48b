// PCI configuration mechanism #1: the address register at 0xcf8, data at 0xcfc.
// PCI Local Bus Specification 3.0, 3.2.2.3.2.
#pragma once

#include <stdint.h>

namespace guest::pci {

uint32_t config_read32(unsigned bus, unsigned device, unsigned function, unsigned offset);
void config_write32(unsigned bus, unsigned device, unsigned function, unsigned offset, uint32_t value);

// Lists every function on the console ("pci: 00:01.0 8086:7000 class 06.01") and counts them.
unsigned scan();
// Whether the last scan saw a host bridge (class 06, subclass 00).
bool found_host_bridge();

}  // namespace guest::pci
