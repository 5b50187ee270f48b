// What `previrt run` asks of every platform: the same guest image, command
// line, memory size, serial destination and time limit.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace previrt::tenders {

struct RunOptions {
    std::string image;              // the guest ELF
    std::string command_line;       // handed to the guest's boot information
    uint64_t memory_mib = 256;
    std::string serial = "stdio";   // "stdio" or a file the guest's COM1 output goes to
    unsigned timeout_seconds = 0;   // 0: none
    std::string trace_exits;        // a file for one line per exit: "<rip> <kind> <detail>"
    bool stats = false;             // print exit counts by kind at the end
    // KVM: single-step the guest, counting its instructions (slow): the whole
    // run, or only inside the windows it marks with POST codes.
    enum class Count { Off, All, Windows };
    Count count_instructions = Count::Off;
    bool console_input = false;     // feed stdin to the guest's console even when serial goes to a file
    bool kvm_irqchip = true;        // KVM: use its in-kernel PIC and PIT where it offers them
    bool kvm_in_place = false;      // KVM: pre-virtualized, the in-place VMM loaded beside the guest
};

// Exit statuses of `previrt run` beyond the guest's own (0-254 through the exit port).
inline constexpr int kExitBadImage = 120;       // the image is not a guest this platform can load
inline constexpr int kExitNoKvm = 121;          // no /dev/kvm, or no permission to use it
inline constexpr int kExitGuestNoStatus = 125;  // the guest stopped without writing the exit port
inline constexpr int kExitTimeout = 124;        // --timeout passed
inline constexpr int kExitPlatform = 126;       // the platform could not be started

// A run that cannot start: what was wrong, and the exit status it ends with.
class StartError : public std::runtime_error {
public:
    StartError(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

}  // namespace previrt::tenders
