// What `previrt run` asks of every platform: the same guest image, command
// line, memory size, serial destination and time limit.
#pragma once

#include <cstdint>
#include <string>

namespace previrt::platforms {

struct RunOptions {
    std::string image;              // the guest ELF
    std::string command_line;       // handed to the guest's boot information
    uint64_t memory_mib = 256;
    std::string serial = "stdio";   // "stdio" or a file the guest's COM1 output goes to
    unsigned timeout_seconds = 0;   // 0: none
};

// Exit statuses of `previrt run` beyond the guest's own (0-254 through the exit port).
inline constexpr int kExitGuestNoStatus = 125;  // the guest stopped without writing the exit port
inline constexpr int kExitTimeout = 124;        // --timeout passed
inline constexpr int kExitPlatform = 126;       // the platform could not be started

}  // namespace previrt::platforms
