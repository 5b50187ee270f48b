// Helpers shared by the reader and the writer: bounds-checked little-endian
// access and the field offsets of the ELF32 and ELF64 structures. Private to the
// elf library; not part of its interface.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "elf/elf_file.h"

namespace previrt::elf::detail {

std::string hex(uint64_t value);                                      // "0x1f"
std::string describe_section(size_t index, const std::string& name);  // "section 3 (.text)"

// Width of the field a relocation of `type` patches (0 for R_*_NONE and R_*_COPY).
unsigned field_width(uint16_t machine, uint32_t type);

// Section types and values the public header has no need to name.
inline constexpr uint32_t kShtDynsym = 11, kShtSymtabShndx = 18;
inline constexpr uint16_t kShnLoreserve = 0xff00, kShnXindex = 0xffff;

template <typename T>
T byteswap_if_big(T value) {
    if constexpr (std::endian::native == std::endian::big) {
        auto raw = std::bit_cast<std::array<uint8_t, sizeof(T)>>(value);
        std::reverse(raw.begin(), raw.end());
        value = std::bit_cast<T>(raw);
    }
    return value;
}

// Every access is checked even where the caller validated the range already: a
// slip in that validation then surfaces as an Error, not as a stray read.
template <typename T>
T read_le(std::span<const uint8_t> bytes, uint64_t offset) {
    static_assert(std::is_integral_v<T>);
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T))
        throw Error("read of " + std::to_string(sizeof(T)) + " bytes at offset " + hex(offset) + " lies outside the " +
                    hex(bytes.size()) + "-byte buffer");
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return byteswap_if_big(value);
}

template <typename T>
void write_le(std::span<uint8_t> bytes, uint64_t offset, T value) {
    static_assert(std::is_integral_v<T>);
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T))
        throw Error("write of " + std::to_string(sizeof(T)) + " bytes at offset " + hex(offset) + " lies outside the " +
                    hex(bytes.size()) + "-byte buffer");
    value = byteswap_if_big(value);
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// A word that is 8 bytes in ELF64 and 4 in ELF32 (addresses, offsets, sizes).
inline uint64_t read_word(std::span<const uint8_t> bytes, uint64_t offset, bool is64) {
    return is64 ? read_le<uint64_t>(bytes, offset) : read_le<uint32_t>(bytes, offset);
}
inline void write_word(std::span<uint8_t> bytes, uint64_t offset, bool is64, uint64_t value) {
    if (is64)
        write_le<uint64_t>(bytes, offset, value);
    else
        write_le<uint32_t>(bytes, offset, static_cast<uint32_t>(value));
}

// Sizes of the fixed structures and the offsets of the fields that differ
// between the two classes.
struct Layout {
    bool is64;
    uint64_t ehdr_size, phdr_size, shdr_size, sym_size, rel_size, rela_size;
    // ELF header.
    uint64_t e_entry, e_phoff, e_shoff, e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
    // Section header.
    uint64_t sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize;
    // Symbol.
    uint64_t st_value, st_size, st_info, st_shndx;

    static const Layout& of(bool is64);
    uint64_t word_size() const { return is64 ? 8 : 4; }
};

// clang-format off
inline const Layout& Layout::of(bool is64) {
    static constexpr Layout k64{
        .is64 = true, .ehdr_size = 64, .phdr_size = 56, .shdr_size = 64, .sym_size = 24,
        .rel_size = 16, .rela_size = 24,
        .e_entry = 24, .e_phoff = 32, .e_shoff = 40, .e_ehsize = 52, .e_phentsize = 54,
        .e_phnum = 56, .e_shentsize = 58, .e_shnum = 60, .e_shstrndx = 62,
        .sh_flags = 8, .sh_addr = 16, .sh_offset = 24, .sh_size = 32, .sh_link = 40,
        .sh_info = 44, .sh_addralign = 48, .sh_entsize = 56,
        .st_value = 8, .st_size = 16, .st_info = 4, .st_shndx = 6};
    static constexpr Layout k32{
        .is64 = false, .ehdr_size = 52, .phdr_size = 32, .shdr_size = 40, .sym_size = 16,
        .rel_size = 8, .rela_size = 12,
        .e_entry = 24, .e_phoff = 28, .e_shoff = 32, .e_ehsize = 40, .e_phentsize = 42,
        .e_phnum = 44, .e_shentsize = 46, .e_shnum = 48, .e_shstrndx = 50,
        .sh_flags = 8, .sh_addr = 12, .sh_offset = 16, .sh_size = 20, .sh_link = 24,
        .sh_info = 28, .sh_addralign = 32, .sh_entsize = 36,
        .st_value = 4, .st_size = 8, .st_info = 12, .st_shndx = 14};
    return is64 ? k64 : k32;
}
// clang-format on

// Round `value` up to a multiple of `align` (any align >= 1); false on overflow.
inline bool align_up(uint64_t value, uint64_t align, uint64_t& out) {
    uint64_t rem = value % align;
    if (rem == 0) {
        out = value;
        return true;
    }
    return !__builtin_add_overflow(value, align - rem, &out);
}

}  // namespace previrt::elf::detail
