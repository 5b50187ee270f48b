// Boot information, whichever way the kernel was started: from a Multiboot
// loader (the 32-bit entry) or from a monitor (the 64-bit entry's BootInfo).
#pragma once

#include <stdint.h>

#include "previrt/boot_info.h"

namespace guest {

// Fills `out` from what the entry received; false (after a message) if neither
// protocol's magic value is there or the information is malformed.
bool read_boot_info(uint64_t magic, uint64_t info_phys, previrt::boot::BootInfo& out);

}  // namespace guest
