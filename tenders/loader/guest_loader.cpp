#include "tenders/loader/guest_loader.h"

#include <fmt/format.h>

#include <cstring>
#include <optional>

#include "previrt/boot_info.h"
#include "previrt/paravirt.h"
#include "previrt/guest_layout.h"
#include "x86/paging.h"

namespace previrt::loader {
namespace {

constexpr uint32_t kPtLoad = 1;

struct Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

template <typename T>
T read_at(const std::vector<uint8_t>& bytes, uint64_t offset) {
    T v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

// The descriptor of the first "previrt" note of `type` in any SHT_NOTE
// section, or nothing. A note section that does not parse is named.
std::optional<std::vector<uint8_t>> find_note(const elf::File& image, uint32_t type) {
    for (const elf::Section& s : image.sections()) {
        if (s.type != elf::kShtNote) continue;
        std::vector<elf::Note> notes;
        try {
            notes = elf::parse_notes(s);
        } catch (const elf::Error& e) {
            throw LoadError(e.what());
        }
        for (const elf::Note& n : notes)
            if (n.name == boot::kNoteName && n.type == type) return std::vector<uint8_t>(n.desc.begin(), n.desc.end());
    }
    return std::nullopt;
}

uint64_t find_entry_note(const elf::File& image) {
    auto note = find_note(image, boot::kNoteEntry64);
    if (note && note->size() == 8) {
        uint64_t entry;
        std::memcpy(&entry, note->data(), 8);
        return entry;
    }
    throw LoadError("no 'previrt' entry note: the image has no 64-bit entry point for monitors");
}

void put64(std::span<uint8_t> ram, uint64_t phys, uint64_t value) { std::memcpy(ram.data() + phys, &value, 8); }

}  // namespace

BootState load_guest(const elf::File& image, std::span<uint8_t> ram, const std::string& command_line) {
    if (!image.is64() || image.machine() != elf::kMachineX86_64 || image.type() != elf::kTypeExec)
        throw LoadError("not an x86-64 ELF64 executable");
    const auto& bytes = image.bytes();
    uint64_t phoff = read_at<uint64_t>(bytes, 32);
    uint16_t phentsize = read_at<uint16_t>(bytes, 54), phnum = read_at<uint16_t>(bytes, 56);
    if (phentsize != sizeof(Phdr) || phoff > bytes.size() || phnum > (bytes.size() - phoff) / sizeof(Phdr))
        throw LoadError("program headers lie outside the file");
    if (ram.size() > layout::kKernelWindowSize)
        throw LoadError("more guest RAM than the guest's 1 GiB kernel window can map");

    BootState state;
    state.entry = find_entry_note(image);
    bool entry_inside = false;
    for (unsigned i = 0; i < phnum; ++i) {
        Phdr ph = read_at<Phdr>(bytes, phoff + i * sizeof(Phdr));
        if (ph.type != kPtLoad) continue;
        if (ph.filesz > ph.memsz)
            throw LoadError(fmt::format("segment {}: its file size {:#x} exceeds its memory size {:#x}", i, ph.filesz,
                                        ph.memsz));
        if (ph.offset > bytes.size() || ph.filesz > bytes.size() - ph.offset)
            throw LoadError(fmt::format("segment {}: its file contents lie outside the file", i));
        if (ph.paddr < kReservedEnd || ph.paddr > ram.size() || ph.memsz > ram.size() - ph.paddr)
            throw LoadError(fmt::format("segment {} at physical {:#x}+{:#x} does not fit in {} MiB of RAM above 1 MiB",
                                        i, ph.paddr, ph.memsz, ram.size() >> 20));
        std::memcpy(ram.data() + ph.paddr, bytes.data() + ph.offset, ph.filesz);
        std::memset(ram.data() + ph.paddr + ph.filesz, 0, ph.memsz - ph.filesz);
        if (state.entry >= ph.vaddr && state.entry - ph.vaddr < ph.memsz) entry_inside = true;
        state.image_end = std::max(state.image_end, ph.paddr + ph.memsz);
    }
    if (!entry_inside) throw LoadError(fmt::format("the entry point {:#x} lies in no loadable segment", state.entry));

    // Boot page tables: the first GiB identity-mapped and in the kernel window,
    // with 2 MiB pages (Intel SDM Vol. 3A, 4.5).
    constexpr uint64_t kPresentWritable = x86::kPtePresent | x86::kPteWritable, kLargePage = x86::kPteLarge;
    std::memset(ram.data() + kBootPml4, 0, 3 * 4096);
    put64(ram, kBootPml4, kBootPdpt | kPresentWritable);
    put64(ram, kBootPdpt, kBootPd | kPresentWritable);
    put64(ram, kBootPdpt + 8 * (layout::kKernelBase >> 30), kBootPd | kPresentWritable);
    for (uint64_t i = 0; i < 512; ++i) put64(ram, kBootPd + 8 * i, (i << 21) | kPresentWritable | kLargePage);

    boot::BootInfo info{};
    info.version = boot::kBootInfoVersion;
    if (command_line.size() >= boot::kMaxCommandLine)
        throw LoadError(fmt::format("command line longer than {} characters", boot::kMaxCommandLine - 1));
    std::memcpy(info.command_line, command_line.data(), command_line.size());
    info.regions[0] = {0, kReservedEnd, static_cast<uint32_t>(boot::MemoryType::Reserved), 0};
    info.regions[1] = {kReservedEnd, ram.size() - kReservedEnd, static_cast<uint32_t>(boot::MemoryType::Usable), 0};
    info.region_count = 2;
    std::memcpy(ram.data() + kBootInfo, &info, sizeof info);

    state.cr3 = kBootPml4;
    state.rdi = boot::kBootMagic;
    state.rsi = kBootInfo;
    state.rsp = layout::kernel_virt(kBootStackTop);
    return state;
}

Paravirt paravirt_interface(const elf::File& image) {
    Paravirt found;
    for (auto [type, kind] : {std::pair{pv::kNoteParavirt, Paravirt::Kind::Process},
                              std::pair{pv::kNoteParavirtKvm, Paravirt::Kind::Kvm}}) {
        auto note = find_note(image, type);
        if (!note) continue;
        if (found.kind != Paravirt::Kind::None)
            throw LoadError("the image claims two para-virtual interfaces (Linux process and KVM)");
        if (note->size() != 4) throw LoadError("the 'previrt' para-virtual note is not 4 bytes long");
        std::memcpy(&found.version, note->data(), 4);
        if (found.version == 0) throw LoadError("the 'previrt' para-virtual note says version 0");
        found.kind = kind;
    }
    return found;
}

Image open_image(const std::string& path, Platform platform, uint32_t version) {
    Image image;
    try {
        image.file = elf::File::load(path);  // its errors name the file
    } catch (const std::exception& e) {
        throw LoadError(e.what());
    }
    try {
        image.paravirt = paravirt_interface(image.file);
    } catch (const LoadError& e) {
        throw LoadError(path + ": " + e.what());
    }
    const Paravirt& p = image.paravirt;
    if (!p) return image;
    Paravirt::Kind own = platform == Platform::Kvm       ? Paravirt::Kind::Kvm
                         : platform == Platform::Process ? Paravirt::Kind::Process
                                                         : Paravirt::Kind::None;
    if (p.kind != own)
        throw LoadError(fmt::format("{}: para-virtualized for {} interface (version {}): it runs with --on {} only",
                                    path, p.name(), p.version, p.kind == Paravirt::Kind::Kvm ? "kvm" : "process"));
    if (p.version != version)
        throw LoadError(fmt::format("{}: para-virtualized for {} interface version {}; this previrt has version {}",
                                    path, p.name(), p.version, version));
    return image;
}

const char* Paravirt::name() const {
    return kind == Kind::Process ? "the Linux-process hypervisor's" : kind == Kind::Kvm ? "KVM's" : "no";
}

}  // namespace previrt::loader
