// Puts the guest ELF into guest-physical memory the way a monitor starts it at
// its 64-bit entry (abi/previrt/boot_info.h): segments at their physical
// addresses, boot page tables for the kernel window, and the BootInfo.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "elf/elf_file.h"
#include "x86/control.h"

namespace previrt::loader {

class LoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Where the monitor's own boot structures go: below 1 MiB, reported reserved.
inline constexpr uint64_t kBootPml4 = 0x1000;
inline constexpr uint64_t kBootPdpt = 0x2000;
inline constexpr uint64_t kBootPd = 0x3000;
inline constexpr uint64_t kBootInfo = 0x5000;
inline constexpr uint64_t kBootStackTop = 0x9000;
inline constexpr uint64_t kReservedEnd = 0x100000;

// The processor at the 64-bit entry (abi/previrt/boot_info.h): long mode at
// CPL 0, paging on through the boot page tables, flat segments (Intel SDM
// Vol. 3A, 9.8.5); what every tender sets before the guest's first instruction.
inline constexpr uint64_t kBootCr0 =
    x86::kCr0Pe | x86::kCr0Mp | x86::kCr0Et | x86::kCr0Ne | x86::kCr0Wp | x86::kCr0Pg;
inline constexpr uint64_t kBootCr4 = x86::kCr4Pae;
inline constexpr uint64_t kBootEfer = x86::kEferLme | x86::kEferLma;
inline constexpr uint16_t kBootCodeSelector = 0x08, kBootDataSelector = 0x10;

struct BootState {
    uint64_t entry = 0;      // virtual address of the 64-bit entry
    uint64_t cr3 = 0;
    uint64_t rdi = 0, rsi = 0, rsp = 0;
    uint64_t image_end = 0;  // guest-physical end of the loaded segments
};

// Validates the image (ELF64 x86-64 executable; every loadable segment inside
// `ram`, above the reserved low memory; an entry note inside a segment) and
// loads it. Throws LoadError saying what is wrong.
BootState load_guest(const elf::File& image, std::span<uint8_t> ram, const std::string& command_line);

// The para-virtual interface an image was built for (its "previrt" note of
// type pv::kNoteParavirt or pv::kNoteParavirtKvm), if any.
struct Paravirt {
    enum class Kind { None, Process, Kvm };
    Kind kind = Kind::None;
    uint32_t version = 0;
    explicit operator bool() const { return kind != Kind::None; }
    const char* name() const;  // "the Linux-process hypervisor's", "KVM's"
};
// Throws LoadError for a malformed note, or notes for both interfaces.
Paravirt paravirt_interface(const elf::File& image);

// What runs an image: the bare PC, or one of the two hypervisors.
enum class Platform { BarePc, Kvm, Process };

struct Image {
    elf::File file;
    Paravirt paravirt;
};

// The check every platform makes of an image before it runs anything: the
// file read as ELF and its para-virtual note, which may only be for
// `platform`'s interface at `version` (none on the bare PC). Throws LoadError,
// its message naming the file; load_guest() checks the rest.
Image open_image(const std::string& path, Platform platform, uint32_t version = 0);

}  // namespace previrt::loader
