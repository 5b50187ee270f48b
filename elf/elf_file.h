// A read-only view of an ELF file, validated on load: every offset, size and
// index that later code follows is checked once here, so a truncated or
// hostile file yields an elf::Error naming what is wrong, never a crash.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace previrt::elf {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// ELF constants used by previrt (System V gABI, "ELF-64 Object File Format").
inline constexpr uint16_t kTypeRel = 1, kTypeExec = 2, kTypeDyn = 3;
inline constexpr uint16_t kMachine386 = 3, kMachineX86_64 = 62;
inline constexpr uint32_t kShtNull = 0, kShtProgbits = 1, kShtSymtab = 2, kShtStrtab = 3,
                          kShtRela = 4, kShtNote = 7, kShtNobits = 8, kShtRel = 9, kShtGroup = 17;
inline constexpr uint64_t kShfWrite = 0x1, kShfAlloc = 0x2, kShfExecInstr = 0x4,
                          kShfInfoLink = 0x40, kShfGroup = 0x200;
inline constexpr uint8_t kSttNotype = 0, kSttObject = 1, kSttFunc = 2, kSttSection = 3;
inline constexpr uint16_t kShnUndef = 0, kShnAbs = 0xfff1;
inline constexpr uint32_t kR_X86_64_PC32 = 2, kR_386_PC32 = 2;

struct Section {
    std::string name;
    uint32_t type = 0;
    uint64_t flags = 0;
    uint64_t addr = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint32_t link = 0;
    uint32_t info = 0;
    uint64_t addralign = 0;
    uint64_t entsize = 0;
    // The section's bytes inside the file; empty for SHT_NOBITS.
    std::span<const uint8_t> data;
};

struct Symbol {
    std::string name;
    uint64_t value = 0;
    uint64_t size = 0;
    uint8_t type = 0;  // STT_*
    uint8_t bind = 0;  // STB_*
    uint16_t shndx = 0;  // raw st_shndx: SHN_XINDEX (0xffff) past section 0xfeff is not resolved
};

struct Relocation {
    uint64_t offset = 0;  // within the section the relocation applies to
    uint32_t type = 0;
    uint32_t symbol = 0;  // index into symbols()
    int64_t addend = 0;   // RELA: explicit; REL: read from the relocated field
};

// One entry of an SHT_NOTE section (gABI "Note Section"): offsets are into the
// section's data.
struct Note {
    uint64_t offset = 0;       // of the note's header (namesz, descsz, type)
    uint32_t type = 0;
    std::string_view name;     // without its terminating NUL
    uint64_t desc_offset = 0;  // of the descriptor
    std::span<const uint8_t> desc;
};

// The notes of `section`, in order. Name and descriptor are padded to 4 bytes,
// or to 8 in a section aligned to 8 (as readelf reads .note.gnu.property).
// Throws Error naming the offset of a note that does not fit in the section or
// whose name is not NUL-terminated.
std::vector<Note> parse_notes(const Section& section);

class File {
public:
    File() = default;
    // Copies re-point every Section::data at the copy's own bytes.
    File(const File& other);
    File& operator=(const File& other);
    File(File&&) noexcept = default;
    File& operator=(File&&) noexcept = default;

    // Validates header, section table, section name table and symbol table.
    static File parse(std::vector<uint8_t> bytes);
    static File load(const std::string& path);  // parse() of the file's bytes; Error names the path

    bool is64() const { return is64_; }
    uint16_t type() const { return type_; }
    uint16_t machine() const { return machine_; }
    uint64_t entry() const { return entry_; }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

    const std::vector<Section>& sections() const { return sections_; }
    // Index of the first section with that name.
    std::optional<size_t> find_section(std::string_view name) const;
    // The symbols of .symtab (index 0 is the null symbol); empty if there is none.
    const std::vector<Symbol>& symbols() const { return symbols_; }
    // Relocations that apply to section `index` (from SHT_RELA/SHT_REL sections whose
    // sh_info names it). Symbol indices are checked against symbols(). Relocation
    // sections linked to .dynsym are skipped (symbols() does not describe them); in
    // executables and shared objects r_offset, an address, is made section-relative.
    std::vector<Relocation> relocations_for(size_t index) const;

    // The function or object symbol that contains `addr` in an allocated section, as
    // "name+0xoff"; or "" if none does. Without a sized symbol containing `addr`, the
    // nearest named symbol (labels included) before it in the same section is used.
    // In relocatable files, where sections start at 0, addresses are section offsets.
    std::string symbolize(uint64_t addr) const;

private:
    void rebase_sections(const File& other);

    std::vector<uint8_t> bytes_;
    bool is64_ = true;
    uint16_t type_ = 0;
    uint16_t machine_ = 0;
    uint64_t entry_ = 0;
    std::vector<Section> sections_;
    std::vector<Symbol> symbols_;
};

// Rewrites a relocatable file: the contents of the sections in `replacements` are
// replaced (sizes may grow), the relocations and symbols that point into a grown
// section are shifted by `shift` bytes where given, and the file is laid out anew
// (section data in order, each at its alignment, section header table last).
// Throws Error for files that are not ET_REL, for edits of sections without file
// data, and when a shifted relocation would fall outside its new section.
// Relocations that reach into a shifted section through its STT_SECTION symbol
// plus an addend are not adjusted: they keep pointing at the same offset, which
// after an insertion holds other bytes. Relocations in `added_relocations`
// (offsets into the new contents) are appended to the one SHT_RELA section
// that applies to the edited section.
struct SectionEdit {
    size_t index = 0;
    std::vector<uint8_t> contents;
    uint64_t shift = 0;        // bytes inserted at the start of the section
    uint64_t addralign = 0;    // new alignment, 0 to keep
    std::vector<Relocation> added_relocations;
};
std::vector<uint8_t> rewrite_relocatable(const File& file, const std::vector<SectionEdit>& edits);
// The same, handed to `sink` in file order a piece at a time.
void rewrite_relocatable(const File& file, const std::vector<SectionEdit>& edits,
                         const std::function<void(std::span<const uint8_t>)>& sink);

}  // namespace previrt::elf
