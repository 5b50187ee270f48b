// The PC's POST code port (IBM PC AT BIOS, "manufacturing test port"): a byte
// written there says how far the machine got; the AT BIOS's power-on
// self-test writes its progress there, for a diagnostic card to show.
#pragma once

#include <stdint.h>

namespace previrt::pc {

inline constexpr uint16_t kPostPort = 0x80;

}  // namespace previrt::pc
