// rewrite_relocatable: replaces section contents of an ET_REL file and lays the
// file out anew. Everything the linker reads besides the edited contents, the
// shifted offsets and values, and the new file offsets is copied byte for byte.
#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <map>

#include "elf/elf_file.h"
#include "elf/elf_internal.h"

namespace previrt::elf {

namespace {

using detail::describe_section;
using detail::hex;
using detail::Layout;
using detail::read_le;
using detail::read_word;
using detail::write_le;
using detail::write_word;

// Alignment padding is the one part of the output not backed by input or edit
// bytes; without a cap a hostile sh_addralign could demand an enormous file.
constexpr uint64_t kMaxPadding = uint64_t{64} << 20;

std::string num(uint64_t value) { return std::to_string(value); }

[[noreturn]] void fail(const std::string& message) { throw Error("rewrite_relocatable: " + message); }

// Copies of the sections whose entries get patched, made on first use.
class Patched {
public:
    explicit Patched(const std::vector<Section>& sections) : sections_(sections) {}
    std::span<uint8_t> get(size_t index) {
        auto [it, inserted] = copies_.try_emplace(index);
        if (inserted) it->second.assign(sections_[index].data.begin(), sections_[index].data.end());
        return it->second;
    }
    std::vector<uint8_t>& grow(size_t index) {
        get(index);
        return copies_[index];
    }
    std::span<const uint8_t> data(size_t index) const {
        auto it = copies_.find(index);
        return it != copies_.end() ? std::span<const uint8_t>(it->second) : sections_[index].data;
    }

private:
    const std::vector<Section>& sections_;
    std::map<size_t, std::vector<uint8_t>> copies_;
};

std::vector<const SectionEdit*> check_edits(const File& file, const std::vector<SectionEdit>& edits) {
    const auto& sections = file.sections();
    std::vector<const SectionEdit*> edit_of(sections.size(), nullptr);
    for (const SectionEdit& e : edits) {
        if (e.index == 0 || e.index >= sections.size())
            fail("no section " + num(e.index) + " to edit (the file has " + num(sections.size()) + ")");
        const Section& s = sections[e.index];
        const std::string what = describe_section(e.index, s.name);
        if (s.type == kShtNull || s.type == kShtNobits) fail(what + " has no file data to replace");
        if (edit_of[e.index] != nullptr) fail(what + " is edited twice");
        if (e.shift > e.contents.size())
            fail(what + ": shift " + hex(e.shift) + " exceeds the " + hex(e.contents.size()) + "-byte new contents");
        if (e.addralign > 1 && !std::has_single_bit(e.addralign))
            fail(what + ": alignment " + hex(e.addralign) + " is not a power of two");
        edit_of[e.index] = &e;
    }
    return edit_of;
}

// Moves the relocations that apply to each edited section by its shift, and checks
// that they land inside its new contents.
void shift_relocations(const File& file, const std::vector<const SectionEdit*>& edit_of, Patched& patched) {
    const auto& sections = file.sections();
    const Layout& L = Layout::of(file.is64());
    for (size_t r = 0; r < sections.size(); ++r) {
        const Section& rs = sections[r];
        if (rs.type != kShtRel && rs.type != kShtRela) continue;
        if (rs.info >= sections.size() || edit_of[rs.info] == nullptr) continue;
        if (edit_of[r] != nullptr) continue;  // replaced by the caller, used as given
        const SectionEdit& e = *edit_of[rs.info];
        const std::string what = describe_section(r, rs.name);
        const uint64_t entsize = rs.type == kShtRela ? L.rela_size : L.rel_size;
        if (rs.entsize != entsize) fail(what + ": entry size " + num(rs.entsize) + ", expected " + num(entsize));
        if (rs.data.size() % entsize != 0)
            fail(what + ": size " + hex(rs.data.size()) + " is not a multiple of the " + num(entsize) + "-byte entry");
        for (uint64_t base = 0; base < rs.data.size(); base += entsize) {
            const uint64_t offset = read_word(rs.data, base, file.is64());
            const uint64_t info = read_word(rs.data, base + L.word_size(), file.is64());
            const auto type = static_cast<uint32_t>(file.is64() ? info & 0xffffffff : info & 0xff);
            const unsigned width = detail::field_width(file.machine(), type);
            uint64_t moved = 0;
            if (__builtin_add_overflow(offset, e.shift, &moved) || moved > e.contents.size() ||
                e.contents.size() - moved < width)
                fail("relocation " + num(base / entsize) + " in " + what + ": offset " + hex(offset) + " moved by " +
                     hex(e.shift) + " lies outside the " + hex(e.contents.size()) + "-byte new contents of " +
                     describe_section(rs.info, sections[rs.info].name));
            if (e.shift != 0) write_word(patched.get(r), base, file.is64(), moved);
        }
    }
}

// Moves the symbols defined in each shifted section, except the section symbol,
// which names the section's start wherever it is.
void shift_symbols(const File& file, const std::vector<const SectionEdit*>& edit_of, Patched& patched) {
    const auto& sections = file.sections();
    const Layout& L = Layout::of(file.is64());
    const auto symtab =
        std::find_if(sections.begin(), sections.end(), [](const Section& s) { return s.type == kShtSymtab; });
    if (symtab == sections.end()) return;
    const auto index = static_cast<size_t>(symtab - sections.begin());
    if (edit_of[index] != nullptr) return;  // replaced by the caller, used as given
    // Section indices past SHN_LORESERVE live in the companion SHT_SYMTAB_SHNDX table.
    std::span<const uint8_t> xindex;
    for (const Section& s : sections)
        if (s.type == detail::kShtSymtabShndx && s.link == index) xindex = s.data;

    for (uint64_t j = 0; j < file.symbols().size(); ++j) {
        const uint64_t base = j * L.sym_size;
        uint32_t shndx = read_le<uint16_t>(symtab->data, base + L.st_shndx);
        if (shndx == detail::kShnXindex) {
            if (xindex.size() / 4 <= j)
                fail("symbol " + num(j) + " has SHN_XINDEX but no entry in an SHT_SYMTAB_SHNDX section");
            shndx = read_le<uint32_t>(xindex, j * 4);
        } else if (shndx >= detail::kShnLoreserve) {
            continue;  // SHN_ABS, SHN_COMMON and the like
        }
        if (shndx >= sections.size() || edit_of[shndx] == nullptr || edit_of[shndx]->shift == 0) continue;
        if ((read_le<uint8_t>(symtab->data, base + L.st_info) & 0xf) == kSttSection) continue;
        const uint64_t value = read_word(symtab->data, base + L.st_value, file.is64());
        uint64_t moved = 0;
        if (__builtin_add_overflow(value, edit_of[shndx]->shift, &moved) || (!file.is64() && moved > UINT32_MAX))
            fail("symbol " + num(j) + " (" + file.symbols()[j].name + "): value " + hex(value) + " cannot move by " +
                 hex(edit_of[shndx]->shift));
        write_word(patched.get(index), base + L.st_value, file.is64(), moved);
    }
}

// Appends each edit's added relocations to the RELA section of its section.
void add_relocations(const File& file, const std::vector<const SectionEdit*>& edit_of, Patched& patched) {
    const auto& sections = file.sections();
    const Layout& L = Layout::of(file.is64());
    for (size_t i = 0; i < sections.size(); ++i) {
        const SectionEdit* e = edit_of[i];
        if (e == nullptr || e->added_relocations.empty()) continue;
        const std::string what = describe_section(i, sections[i].name);
        size_t rela = 0;
        for (size_t r = 0; r < sections.size(); ++r) {
            if ((sections[r].type != kShtRela && sections[r].type != kShtRel) || sections[r].info != i) continue;
            if (rela != 0 || sections[r].type != kShtRela || edit_of[r] != nullptr)
                fail(what + ": relocations can be added only to its one SHT_RELA section, left unedited");
            rela = r;
        }
        if (rela == 0) fail(what + " has no SHT_RELA section to add relocations to");
        if (!file.is64()) fail(what + ": relocations can be added to ELF64 files only");
        std::vector<uint8_t>& out = patched.grow(rela);
        for (const Relocation& r : e->added_relocations) {
            const unsigned width = detail::field_width(file.machine(), r.type);
            if (r.offset > e->contents.size() || e->contents.size() - r.offset < width)
                fail(what + ": an added relocation at " + hex(r.offset) + " lies outside the " +
                     hex(e->contents.size()) + "-byte new contents");
            if (r.symbol >= file.symbols().size()) fail(what + ": an added relocation names no symbol");
            const uint64_t base = out.size();
            out.resize(base + L.rela_size);
            write_word(out, base, true, r.offset);
            write_word(out, base + 8, true, (uint64_t{r.symbol} << 32) | r.type);
            write_word(out, base + 16, true, static_cast<uint64_t>(r.addend));
        }
    }
}

}  // namespace

void rewrite_relocatable(const File& file, const std::vector<SectionEdit>& edits,
                         const std::function<void(std::span<const uint8_t>)>& sink) {
    if (file.type() != kTypeRel)
        fail("e_type is " + num(file.type()) + "; only relocatable (ET_REL) files can be rewritten");
    const Layout& L = Layout::of(file.is64());
    const std::span<const uint8_t> in(file.bytes());
    const auto& sections = file.sections();
    if (read_le<uint16_t>(in, L.e_phnum) != 0) fail("the relocatable file has program headers");

    const auto edit_of = check_edits(file, edits);
    Patched patched(sections);
    shift_relocations(file, edit_of, patched);
    shift_symbols(file, edit_of, patched);
    add_relocations(file, edit_of, patched);

    // Where each section goes: the header first, then the data in index order.
    struct Placement {
        std::span<const uint8_t> data;
        uint64_t offset = 0;
    };
    std::vector<Placement> placed(sections.size());
    uint64_t pos = L.ehdr_size, padding = 0;
    for (size_t i = 0; i < sections.size(); ++i) {
        const Section& s = sections[i];
        if (s.type == kShtNull) continue;
        const SectionEdit* e = edit_of[i];
        const uint64_t align = e != nullptr && e->addralign != 0 ? e->addralign : std::max<uint64_t>(1, s.addralign);
        uint64_t at = 0;
        if (!detail::align_up(pos, align, at) || (s.type != kShtNobits && at - pos > kMaxPadding - padding))
            fail(describe_section(i, s.name) + ": alignment " + hex(align) + " needs more padding than the " +
                 hex(kMaxPadding) + "-byte limit");
        placed[i].offset = at;
        if (s.type == kShtNobits) continue;  // takes no room in the file
        padding += at - pos;
        placed[i].data = e != nullptr ? std::span<const uint8_t>(e->contents) : patched.data(i);
        pos = at + placed[i].data.size();  // sizes of data in memory cannot overflow here
    }
    uint64_t shoff = 0;
    if (!sections.empty()) detail::align_up(pos, L.word_size(), shoff);
    const uint64_t total = shoff + sections.size() * L.shdr_size;
    if (!file.is64() && total > UINT32_MAX)
        fail("the rewritten file would be " + hex(total) + " bytes, too large for ELF32");

    // The file header and the section header table, then everything in file order.
    std::vector<uint8_t> ehdr(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(L.ehdr_size));
    if (!sections.empty()) write_word(ehdr, L.e_shoff, file.is64(), shoff);
    const uint64_t old_shoff = read_word(in, L.e_shoff, file.is64());
    std::vector<uint8_t> shdrs(sections.size() * L.shdr_size);
    for (size_t i = 0; i < sections.size(); ++i) {
        const uint64_t header = i * L.shdr_size;
        std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(old_shoff + header), L.shdr_size, shdrs.begin() + static_cast<std::ptrdiff_t>(header));
        if (sections[i].type == kShtNull) continue;  // section 0 may hold extended counts
        write_word(shdrs, header + L.sh_offset, file.is64(), placed[i].offset);
        if (sections[i].type != kShtNobits) write_word(shdrs, header + L.sh_size, file.is64(), placed[i].data.size());
        if (const SectionEdit* e = edit_of[i]) {
            if (e->addralign != 0) write_word(shdrs, header + L.sh_addralign, file.is64(), e->addralign);
        }
    }
    static const uint8_t zeros[4096] = {};
    uint64_t at = 0;
    auto pad_to = [&](uint64_t to) {
        while (at < to) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(to - at, sizeof zeros));
            sink(std::span<const uint8_t>(zeros, n));
            at += n;
        }
    };
    sink(ehdr);
    at = ehdr.size();
    for (size_t i = 0; i < sections.size(); ++i) {
        // A NOBITS offset may lie past the end of the file; there is nothing to copy there.
        if (placed[i].data.empty()) continue;
        pad_to(placed[i].offset);
        sink(placed[i].data);
        at += placed[i].data.size();
    }
    pad_to(shoff);
    sink(shdrs);
    (void)total;
}

std::vector<uint8_t> rewrite_relocatable(const File& file, const std::vector<SectionEdit>& edits) {
    std::vector<uint8_t> out;
    rewrite_relocatable(file, edits, [&out](std::span<const uint8_t> piece) { out.insert(out.end(), piece.begin(), piece.end()); });
    return out;
}

}  // namespace previrt::elf
