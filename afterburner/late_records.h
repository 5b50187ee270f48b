// Sites the object shows but the text did not: a sensitive instruction the
// text pass could not see (the expansion of a macro argument, a string handed
// to a macro, a .byte list that is a macro's argument or spans statements) is
// still found in the assembled object, by the sweep `inspect` makes. It is
// recorded without scratch space, by a second assembly of the same text with
// records appended; each addresses its instruction from a label at its
// section's end, so the code assembles to the same bytes both times (which the
// hook checks). Every in-place VMM traps at a site without room.
//
// The same second assembly ends each code section that a .code16/.code32 left
// in another mode with a code-mode record back to the object's own mode: the
// text's records say where a mode starts, and without one at the end, the code
// the linker puts next (another object's) would be read in the wrong mode.
#pragma once

#include <string>
#include <vector>

#include "afterburner/inspect.h"
#include "elf/elf_file.h"
#include "sites/site_table.h"

namespace previrt::afterburner {

struct LateRecords {
    std::string text;                // to append to the assembler's input
    size_t sites = 0;                // instruction records in `text`
    size_t mode_resets = 0;          // code-mode records at a section's end in `text`
    std::vector<std::string> notes;  // a line per site recorded, or left (its section cannot be named again)
};

// `missed`, from unrecorded_instructions(); `mode_resets`, the code sections
// whose last code-mode record leaves them in another mode than the object's
// own (mode_resets_needed()): each gets a code-mode record at its end, so that
// in a linked image the next object's code is read in its own mode.
LateRecords late_records(const elf::File& object, const std::vector<Unrecorded>& missed,
                         const std::vector<size_t>& mode_resets = {});

std::vector<size_t> mode_resets_needed(const elf::File& object, const sites::SiteTable& table);

}  // namespace previrt::afterburner
