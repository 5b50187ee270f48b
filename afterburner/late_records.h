// Sites the object shows but the text did not: a sensitive instruction the
// text pass could not see (the expansion of a macro argument, a string handed
// to a macro, a .byte list that is a macro's argument or spans statements) is
// still found in the assembled object, by the sweep `inspect` makes. It is
// recorded without scratch space, by a second assembly of the same text with
// records appended; each addresses its instruction from a label at its
// section's end, so the code assembles to the same bytes both times (which the
// hook checks). Every in-place VMM traps at a site without room.
#pragma once

#include <string>
#include <vector>

#include "afterburner/inspect.h"
#include "elf/elf_file.h"

namespace previrt::afterburner {

struct LateRecords {
    std::string text;                // to append to the assembler's input
    size_t sites = 0;                // records in `text`
    std::vector<std::string> notes;  // a line per site recorded, or left (its section cannot be named again)
};

LateRecords late_records(const elf::File& object, const std::vector<Unrecorded>& missed);

}  // namespace previrt::afterburner
