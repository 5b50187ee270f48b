// Profile-guided annotation: from the instruction addresses at which a monitor
// saw the guest trap (its --trace-exits output), the annotation file that makes
// the next build pad and record exactly those instructions.
//
// Trap profile format, one trap a line, '#' starts a comment:
//     <rip> <kind> [<detail>...]
// rip in hex (0x optional); kind is mmio (a device-register access), pt (a write
// to a shadowed page table), or any other exit kind, which is counted but needs
// no annotation (port I/O, hlt, msr, ... are found by the scan).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "afterburner/annotations.h"
#include "elf/elf_file.h"

namespace previrt::afterburner {

struct Trap {
    uint64_t rip = 0;
    std::string kind;
};

// A profile is a line per exit; a larger file than this is no such profile.
inline constexpr size_t kMaxTrapProfileBytes = size_t{256} << 20;

// Throws AnnotationError naming the file and line of a malformed entry.
std::vector<Trap> parse_trap_profile(std::string_view text, std::string_view file_name);

struct ProfileResult {
    Annotations annotations;
    std::vector<std::string> notes;  // traps that needed no annotation, and why
    std::vector<std::string> errors; // traps that could not be annotated, and why
};

ProfileResult annotate_from_profile(const elf::File& image, const std::vector<Trap>& traps);

}  // namespace previrt::afterburner
