// libFuzzer entry point for the ELF library. Any input may be rejected with
// elf::Error; anything else (a crash, a sanitizer report, another exception)
// is a bug. Relocatable inputs are also rewritten, and the result must parse and
// carry the same relocations, moved by the inserted bytes.
//
// Seed corpus (corpus/): small GNU as/gcc objects (ELF64 with site
// records, a COMDAT group, ELF32 with REL relocations) and ld outputs (static
// ELF64 and ELF32 executables, an ELF64 shared object).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "elf/elf_file.h"

using namespace previrt::elf;

namespace {

volatile uint64_t g_sink;

void require(bool condition) {
    if (!condition) std::abort();
}

// Every section gets a chance to fail on its own.
std::vector<std::vector<Relocation>> all_relocations(const File& f, std::vector<bool>& ok) {
    std::vector<std::vector<Relocation>> result(f.sections().size());
    ok.assign(f.sections().size(), false);
    for (size_t i = 0; i < f.sections().size(); ++i) {
        try {
            result[i] = f.relocations_for(i);
            ok[i] = true;
        } catch (const Error&) {
        }
    }
    return result;
}

void check_rewrite(const File& f) {
    // The first section with data of its own that the linker would not read as a table.
    size_t target = 0;
    for (size_t i = 1; i < f.sections().size() && target == 0; ++i)
        if (f.sections()[i].type == kShtProgbits) target = i;
    if (target == 0) return;

    SectionEdit edit{target, std::vector<uint8_t>(16, 0xcc), 16, 8};
    const auto& old = f.sections()[target].data;
    edit.contents.insert(edit.contents.end(), old.begin(), old.end());
    std::vector<uint8_t> out;
    try {
        out = rewrite_relocatable(f, {edit});
    } catch (const Error&) {
        return;
    }
    // A file the writer accepted must come out valid.
    File g = File::parse(std::move(out));
    require(g.sections().size() == f.sections().size());
    require(g.symbols().size() == f.symbols().size());
    const Section& s = g.sections()[target];
    require(std::equal(s.data.begin(), s.data.end(), edit.contents.begin(), edit.contents.end()));

    std::vector<bool> ok;
    auto before = all_relocations(f, ok);
    std::vector<bool> ok_after;
    auto after = all_relocations(g, ok_after);
    if (!ok[target]) return;
    require(ok_after[target] && after[target].size() == before[target].size());
    for (size_t k = 0; k < before[target].size(); ++k) {
        require(after[target][k].offset == before[target][k].offset + 16);
        require(after[target][k].addend == before[target][k].addend);
        require(after[target][k].symbol == before[target][k].symbol);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    File f;
    try {
        f = File::parse(std::vector<uint8_t>(data, data + size));
    } catch (const Error&) {
        return 0;
    }
    uint64_t sum = 0;
    for (const Section& s : f.sections())
        for (uint8_t byte : s.data) sum += byte;  // every span must be readable
    for (const Symbol& sym : f.symbols()) sum += sym.name.size() + sym.value;
    std::vector<bool> ok;
    all_relocations(f, ok);
    for (const Section& s : f.sections()) {
        sum += f.symbolize(s.addr).size();
        sum += f.symbolize(s.addr + s.size / 2).size();
    }
    sum += f.symbolize(f.entry()).size() + f.symbolize(0).size() + f.symbolize(~uint64_t{0}).size();
    if (f.type() == kTypeRel) check_rewrite(f);
    g_sink = sum;  // keeps the reads from being optimized away
    return 0;
}
