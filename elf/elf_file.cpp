#include "elf/elf_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>

#include "elf/elf_internal.h"

namespace previrt::elf {

namespace detail {
std::string hex(uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
    return buf;
}

std::string describe_section(size_t index, const std::string& name) {
    return "section " + std::to_string(index) + (name.empty() ? "" : " (" + name + ")");
}

// For SHT_REL the field also holds the addend.
unsigned field_width(uint16_t machine, uint32_t type) {
    auto one_of = [type](std::initializer_list<uint32_t> types) {
        return std::find(types.begin(), types.end(), type) != types.end();
    };
    if (machine == kMachineX86_64) {
        if (one_of({0, 5})) return 0;  // NONE, COPY
        // 64, GLOB_DAT, JUMP_SLOT, RELATIVE, DTPMOD64, DTPOFF64, TPOFF64, PC64, GOTOFF64,
        // GOT64, GOTPCREL64, GOTPC64, GOTPLT64, PLTOFF64, SIZE64, RELATIVE64
        if (one_of({1, 6, 7, 8, 16, 17, 18, 24, 25, 27, 28, 29, 30, 31, 33, 38})) return 8;
        if (one_of({12, 13})) return 2;  // 16, PC16
        if (one_of({14, 15})) return 1;  // 8, PC8
    } else if (machine == kMachine386) {
        if (one_of({0, 5})) return 0;    // NONE, COPY
        if (one_of({20, 21})) return 2;  // 16, PC16
        if (one_of({22, 23})) return 1;  // 8, PC8
    }
    return 4;
}
}  // namespace detail

namespace {

using detail::describe_section;
using detail::hex;
using detail::Layout;
using detail::read_le;
using detail::read_word;

constexpr uint8_t kMagic[4] = {0x7f, 'E', 'L', 'F'};
constexpr uint8_t kClass32 = 1, kClass64 = 2, kData2Lsb = 1, kVersionCurrent = 1;

std::string num(uint64_t value) { return std::to_string(value); }

// Names are copied into std::string, and a hostile file can point thousands of
// symbols at one long string. Real files hold far fewer name bytes than this, so
// past it the file is rejected instead of growing memory without bound.
class NameBudget {
public:
    explicit NameBudget(uint64_t file_size) : left_(8 * file_size + (uint64_t{1} << 20)) {}
    void spend(uint64_t bytes, const std::string& what) {
        if (bytes > left_)
            throw Error(what +
                        ": the names of sections and symbols add up to far more bytes than "
                        "the file holds (string table offsets reused many times)");
        left_ -= bytes;
    }

private:
    uint64_t left_;
};

// The NUL-terminated string at `offset` of a string table.
std::string string_at(std::span<const uint8_t> table, uint64_t offset, const std::string& what,
                      const std::string& table_desc, NameBudget& budget) {
    // The gABI allows an empty string table, in which offset 0 is the empty name.
    if (offset == 0 && table.empty()) return {};
    if (offset >= table.size())
        throw Error(what + ": name offset " + hex(offset) + " lies outside the " + hex(table.size()) + "-byte " +
                    table_desc);
    const auto* start = table.data() + offset;
    const auto* nul = static_cast<const uint8_t*>(std::memchr(start, 0, table.size() - offset));
    if (nul == nullptr)
        throw Error(what + ": name at offset " + hex(offset) + " of the " + table_desc + " is not NUL-terminated");
    budget.spend(static_cast<uint64_t>(nul - start), what);
    return std::string(reinterpret_cast<const char*>(start), static_cast<size_t>(nul - start));
}

struct Header {
    const Layout* layout = nullptr;
    uint16_t type = 0, machine = 0;
    uint64_t entry = 0, shoff = 0;
    uint64_t shnum = 0;  // after extended numbering
    uint32_t shstrndx = 0;
};

Header read_header(std::span<const uint8_t> b) {
    if (b.empty()) throw Error("empty file");
    if (b.size() < 16)
        throw Error("truncated ELF identification: the file is " + num(b.size()) + " bytes, 16 are needed");
    if (std::memcmp(b.data(), kMagic, sizeof kMagic) != 0)
        throw Error("not an ELF file: bad magic bytes (expected 7f 45 4c 46)");
    if (b[4] != kClass32 && b[4] != kClass64)
        throw Error("unsupported ELF class " + num(b[4]) + " (1 is ELF32, 2 is ELF64)");
    if (b[5] != kData2Lsb)
        throw Error("unsupported data encoding " + num(b[5]) + ": only little-endian (1) files are supported");
    if (b[6] != kVersionCurrent) throw Error("unsupported ELF identification version " + num(b[6]));

    const Layout& L = Layout::of(b[4] == kClass64);
    const char* cls = L.is64 ? "ELF64" : "ELF32";
    if (b.size() < L.ehdr_size)
        throw Error("truncated ELF header: the file is " + num(b.size()) + " bytes, the " + cls + " header needs " +
                    num(L.ehdr_size));
    Header h{.layout = &L,
             .type = read_le<uint16_t>(b, 16),
             .machine = read_le<uint16_t>(b, 18),
             .entry = read_word(b, L.e_entry, L.is64),
             .shoff = read_word(b, L.e_shoff, L.is64)};
    if (uint32_t version = read_le<uint32_t>(b, 20); version != kVersionCurrent)
        throw Error("unsupported ELF version " + num(version));
    if (uint16_t ehsize = read_le<uint16_t>(b, L.e_ehsize); ehsize != L.ehdr_size)
        throw Error("e_ehsize is " + num(ehsize) + ", the " + cls + " header is " + num(L.ehdr_size) + " bytes");

    uint64_t phnum = read_le<uint16_t>(b, L.e_phnum);
    if (phnum != 0) {
        uint16_t phentsize = read_le<uint16_t>(b, L.e_phentsize);
        if (phentsize != L.phdr_size)
            throw Error("e_phentsize is " + num(phentsize) + ", expected " + num(L.phdr_size));
        uint64_t phoff = read_word(b, L.e_phoff, L.is64);
        if (phoff > b.size() || (b.size() - phoff) / L.phdr_size < phnum)
            throw Error("program header table at offset " + hex(phoff) + " (" + num(phnum) + " entries of " +
                        num(L.phdr_size) + " bytes) lies outside the " + hex(b.size()) + "-byte file");
    }

    uint64_t shnum = read_le<uint16_t>(b, L.e_shnum);
    uint32_t shstrndx = read_le<uint16_t>(b, L.e_shstrndx);
    if (h.shoff == 0) {
        if (shnum != 0) throw Error("e_shnum is " + num(shnum) + " but e_shoff is 0 (no section header table)");
        return h;
    }
    if (uint16_t shentsize = read_le<uint16_t>(b, L.e_shentsize); shentsize != L.shdr_size)
        throw Error("e_shentsize is " + num(shentsize) + ", expected " + num(L.shdr_size));
    if (h.shoff > b.size() || b.size() - h.shoff < L.shdr_size)
        throw Error("section header table at offset " + hex(h.shoff) + " lies outside the " + hex(b.size()) +
                    "-byte file");
    // Extended numbering: section 0 holds counts that do not fit the ELF header.
    if (shnum == 0) shnum = read_word(b, h.shoff + L.sh_size, L.is64);
    if (shstrndx == detail::kShnXindex) shstrndx = read_le<uint32_t>(b, h.shoff + L.sh_link);
    if ((b.size() - h.shoff) / L.shdr_size < shnum)
        throw Error("section header table at offset " + hex(h.shoff) + " (" + num(shnum) + " entries of " +
                    num(L.shdr_size) + " bytes) lies outside the " + hex(b.size()) + "-byte file");
    h.shnum = shnum;
    h.shstrndx = shstrndx;
    return h;
}

std::vector<Section> read_sections(std::span<const uint8_t> b, const Header& h, NameBudget& budget) {
    const Layout& L = *h.layout;
    std::vector<Section> sections(h.shnum);  // count checked against the file size
    std::vector<uint32_t> name_offsets(h.shnum);
    for (size_t i = 0; i < h.shnum; ++i) {
        const uint64_t base = h.shoff + i * L.shdr_size;
        Section& s = sections[i];
        name_offsets[i] = read_le<uint32_t>(b, base);
        s.type = read_le<uint32_t>(b, base + 4);
        s.flags = read_word(b, base + L.sh_flags, L.is64);
        s.addr = read_word(b, base + L.sh_addr, L.is64);
        s.offset = read_word(b, base + L.sh_offset, L.is64);
        s.size = read_word(b, base + L.sh_size, L.is64);
        s.link = read_le<uint32_t>(b, base + L.sh_link);
        s.info = read_le<uint32_t>(b, base + L.sh_info);
        s.addralign = read_word(b, base + L.sh_addralign, L.is64);
        s.entsize = read_word(b, base + L.sh_entsize, L.is64);
    }
    if (h.shnum == 0) return sections;

    // Names first, so that every later message can name its section.
    std::span<const uint8_t> names;
    if (h.shstrndx != kShnUndef) {
        if (h.shstrndx >= h.shnum)
            throw Error("e_shstrndx " + num(h.shstrndx) + " is not a valid section index (the file has " +
                        num(h.shnum) + " sections)");
        const Section& table = sections[h.shstrndx];
        if (table.type != kShtStrtab)
            throw Error("section name table (section " + num(h.shstrndx) + ") has type " + num(table.type) +
                        ", not SHT_STRTAB");
        if (table.size > b.size() || table.offset > b.size() - table.size)
            throw Error("section name table (section " + num(h.shstrndx) + "): data at offset " + hex(table.offset) +
                        "+" + hex(table.size) + " lies outside the " + hex(b.size()) + "-byte file");
        names = b.subspan(table.offset, table.size);
    }
    for (size_t i = 0; i < h.shnum; ++i) {
        if (h.shstrndx == kShnUndef && name_offsets[i] != 0)
            throw Error("section " + num(i) + ": name offset " + hex(name_offsets[i]) +
                        " but the file has no section name table (e_shstrndx is 0)");
        sections[i].name = string_at(names, name_offsets[i], "section " + num(i), "section name table", budget);
    }

    for (size_t i = 0; i < h.shnum; ++i) {
        Section& s = sections[i];
        if (s.type == kShtNull || s.type == kShtNobits) continue;
        if (s.size > b.size() || s.offset > b.size() - s.size)
            throw Error(describe_section(i, s.name) + ": data at offset " + hex(s.offset) + "+" + hex(s.size) +
                        " lies outside the " + hex(b.size()) + "-byte file");
        s.data = b.subspan(s.offset, s.size);
    }
    return sections;
}

std::vector<Symbol> read_symbols(const Layout& L, const std::vector<Section>& sections, NameBudget& budget) {
    size_t index = 0;
    while (index < sections.size() && sections[index].type != kShtSymtab) ++index;
    if (index == sections.size()) return {};
    const Section& symtab = sections[index];
    const std::string what = describe_section(index, symtab.name);
    if (symtab.entsize != L.sym_size)
        throw Error(what + ": entry size " + num(symtab.entsize) + ", expected " + num(L.sym_size));
    if (symtab.size % L.sym_size != 0)
        throw Error(what + ": size " + hex(symtab.size) + " is not a multiple of the " + num(L.sym_size) +
                    "-byte entry");
    if (symtab.link == 0 || symtab.link >= sections.size() || sections[symtab.link].type != kShtStrtab)
        throw Error(what + ": sh_link " + num(symtab.link) + " is not a string table section");
    const Section& strtab = sections[symtab.link];
    const std::string strtab_desc = "string table (" + describe_section(symtab.link, strtab.name) + ")";

    std::vector<Symbol> symbols(symtab.data.size() / L.sym_size);  // data lies inside the file
    for (size_t j = 0; j < symbols.size(); ++j) {
        const uint64_t base = j * L.sym_size;
        Symbol& sym = symbols[j];
        const uint8_t info = read_le<uint8_t>(symtab.data, base + L.st_info);
        sym.value = read_word(symtab.data, base + L.st_value, L.is64);
        sym.size = read_word(symtab.data, base + L.st_size, L.is64);
        sym.type = info & 0xf;
        sym.bind = info >> 4;
        sym.shndx = read_le<uint16_t>(symtab.data, base + L.st_shndx);
        sym.name =
            string_at(strtab.data, read_le<uint32_t>(symtab.data, base), "symbol " + num(j), strtab_desc, budget);
    }
    return symbols;
}

int64_t read_signed(std::span<const uint8_t> data, uint64_t offset, unsigned width) {
    switch (width) {
        case 1:
            return static_cast<int8_t>(read_le<uint8_t>(data, offset));
        case 2:
            return static_cast<int16_t>(read_le<uint16_t>(data, offset));
        case 4:
            return static_cast<int32_t>(read_le<uint32_t>(data, offset));
        case 8:
            return static_cast<int64_t>(read_le<uint64_t>(data, offset));
        default:
            return 0;
    }
}

}  // namespace

File::File(const File& other)
    : bytes_(other.bytes_),
      is64_(other.is64_),
      type_(other.type_),
      machine_(other.machine_),
      entry_(other.entry_),
      sections_(other.sections_),
      symbols_(other.symbols_) {
    rebase_sections(other);
}

File& File::operator=(const File& other) {
    if (this != &other) {
        File copy(other);
        *this = std::move(copy);
    }
    return *this;
}

// The copied spans still point into `other`'s bytes; point them at ours.
void File::rebase_sections(const File& other) {
    for (Section& s : sections_)
        if (!s.data.empty())
            s.data = std::span<const uint8_t>(bytes_).subspan(static_cast<size_t>(s.data.data() - other.bytes_.data()),
                                                              s.data.size());
}

File File::parse(std::vector<uint8_t> bytes) {
    File f;
    f.bytes_ = std::move(bytes);
    const std::span<const uint8_t> b(f.bytes_);
    const Header h = read_header(b);
    f.is64_ = h.layout->is64;
    f.type_ = h.type;
    f.machine_ = h.machine;
    f.entry_ = h.entry;
    NameBudget budget(b.size());
    f.sections_ = read_sections(b, h, budget);
    f.symbols_ = read_symbols(*h.layout, f.sections_, budget);
    return f;
}

File File::load(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(path + ": " + ec.message());
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> bytes(size);
    if (!in || !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
        throw Error(path + ": cannot read the file");
    try {
        return parse(std::move(bytes));
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
}

std::vector<Note> parse_notes(const Section& section) {
    const uint64_t align = section.addralign == 8 ? 8 : 4;
    auto padded = [align](uint64_t n) { return (n + align - 1) & ~(align - 1); };
    std::span<const uint8_t> data = section.data;
    std::vector<Note> notes;
    for (uint64_t pos = 0; pos < data.size();) {
        auto fail = [&](const std::string& what) {
            throw Error("note section " + section.name + ", note at offset " + hex(pos) + ": " + what);
        };
        if (data.size() - pos < 12) fail("truncated note header");
        uint32_t word[3];
        std::memcpy(word, data.data() + pos, sizeof word);
        Note note;
        note.offset = pos;
        note.type = word[2];
        // Name and descriptor each start at the alignment from the note's
        // start (readelf's ELF_NOTE_DESC_OFFSET): for 8, right after the
        // header when the name fits in 4 bytes.
        uint64_t name_at = pos + 12;
        if (word[0] > data.size() - name_at) fail("name runs past the section's end");
        note.desc_offset = pos + padded(12 + uint64_t{word[0]});
        if (note.desc_offset > data.size() || word[1] > data.size() - note.desc_offset)
            fail("descriptor runs past the section's end");
        if (word[0]) {
            if (data[name_at + word[0] - 1] != 0) fail("name is not NUL-terminated");
            note.name = std::string_view(reinterpret_cast<const char*>(data.data() + name_at), word[0] - 1);
        }
        note.desc = data.subspan(note.desc_offset, word[1]);
        notes.push_back(note);
        pos = std::min<uint64_t>(note.desc_offset + padded(word[1]), data.size());
    }
    return notes;
}

std::optional<size_t> File::find_section(std::string_view name) const {
    for (size_t i = 0; i < sections_.size(); ++i)
        if (sections_[i].name == name) return i;
    return std::nullopt;
}

std::vector<Relocation> File::relocations_for(size_t index) const {
    if (index >= sections_.size())
        throw Error("relocations_for: no section " + num(index) + " (the file has " + num(sections_.size()) + ")");
    const Section& target = sections_[index];
    const Layout& L = Layout::of(is64_);
    std::vector<Relocation> result;
    for (size_t r = 0; r < sections_.size(); ++r) {
        const Section& rs = sections_[r];
        if ((rs.type != kShtRel && rs.type != kShtRela) || rs.info != index) continue;
        const std::string what = describe_section(r, rs.name);
        if (rs.link >= sections_.size() ||
            (sections_[rs.link].type != kShtSymtab && sections_[rs.link].type != detail::kShtDynsym))
            throw Error(what + ": sh_link " + num(rs.link) + " is not a symbol table section");
        // Dynamic relocations index .dynsym, which symbols() does not describe.
        if (sections_[rs.link].type == detail::kShtDynsym) continue;

        const bool rela = rs.type == kShtRela;
        const uint64_t entsize = rela ? L.rela_size : L.rel_size;
        if (rs.entsize != entsize) throw Error(what + ": entry size " + num(rs.entsize) + ", expected " + num(entsize));
        if (rs.data.size() % entsize != 0)
            throw Error(what + ": size " + hex(rs.data.size()) + " is not a multiple of the " + num(entsize) +
                        "-byte entry");
        result.reserve(result.size() + rs.data.size() / entsize);  // data lies inside the file
        for (uint64_t k = 0; k < rs.data.size() / entsize; ++k) {
            const uint64_t base = k * entsize;
            auto entry = [&] { return "relocation " + num(k) + " in " + what; };
            Relocation rel;
            rel.offset = read_word(rs.data, base, is64_);
            const uint64_t info = read_word(rs.data, base + L.word_size(), is64_);
            rel.symbol = static_cast<uint32_t>(is64_ ? info >> 32 : info >> 8);
            rel.type = static_cast<uint32_t>(is64_ ? info & 0xffffffff : info & 0xff);
            if (type_ != kTypeRel) {
                // Outside relocatable files r_offset is an address.
                if (rel.offset < target.addr)
                    throw Error(entry() + ": address " + hex(rel.offset) + " lies before " +
                                describe_section(index, target.name) + " at " + hex(target.addr));
                rel.offset -= target.addr;
            }
            const unsigned width = detail::field_width(machine_, rel.type);
            if (rel.offset > target.size || target.size - rel.offset < width)
                throw Error(entry() + ": offset " + hex(rel.offset) + " lies outside " +
                            describe_section(index, target.name) + " of " + hex(target.size) + " bytes");
            if (rel.symbol >= symbols_.size())
                throw Error(entry() + ": symbol index " + num(rel.symbol) + " is out of range (the symbol table has " +
                            num(symbols_.size()) + " entries)");
            if (rela) {
                rel.addend = is64_ ? static_cast<int64_t>(read_le<uint64_t>(rs.data, base + 16))
                                   : static_cast<int32_t>(read_le<uint32_t>(rs.data, base + 8));
            } else {
                if (target.data.size() < target.size && width != 0)
                    throw Error(entry() + ": " + describe_section(index, target.name) +
                                " has no file data to read the addend from");
                rel.addend = read_signed(target.data, rel.offset, width);
            }
            result.push_back(rel);
        }
    }
    return result;
}

std::string File::symbolize(uint64_t addr) const {
    struct Candidate {
        const Symbol* symbol = nullptr;
        uint64_t start = 0;
    };
    // Among symbols at one address, a typed global one is the better name.
    auto better = [](const Candidate& a, const Candidate& best) {
        if (best.symbol == nullptr) return true;
        if (a.start != best.start) return a.start > best.start;
        auto rank = [](const Symbol& s) { return (s.type != kSttNotype ? 2 : 0) + (s.bind != 0 ? 1 : 0); };
        return rank(*a.symbol) > rank(*best.symbol);
    };
    Candidate containing, preceding;
    for (const Symbol& s : symbols_) {
        if (s.name.empty() || (s.type != kSttFunc && s.type != kSttObject && s.type != kSttNotype)) continue;
        if (s.shndx == kShnUndef || s.shndx >= detail::kShnLoreserve || s.shndx >= sections_.size()) continue;
        const Section& sec = sections_[s.shndx];
        if ((sec.flags & kShfAlloc) == 0 || addr < sec.addr || addr - sec.addr >= sec.size) continue;
        // Symbol values are section offsets in relocatable files and addresses elsewhere.
        const uint64_t start = type_ == kTypeRel ? sec.addr + s.value : s.value;
        if (start < sec.addr || start > addr) continue;
        const Candidate c{&s, start};
        if (s.size != 0 && addr - start < s.size) {
            if (better(c, containing)) containing = c;
        } else if (better(c, preceding)) {
            preceding = c;
        }
    }
    const Candidate& found = containing.symbol != nullptr ? containing : preceding;
    if (found.symbol == nullptr) return {};
    const uint64_t off = addr - found.start;
    return off == 0 ? found.symbol->name : found.symbol->name + "+" + hex(off);
}

}  // namespace previrt::elf
