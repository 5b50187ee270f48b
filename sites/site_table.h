// Reading the site table back out of an ELF file: from a linked image (records
// located by address) or from a relocatable object (records located through
// their relocations, before or after the object was finished).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "previrt/site_record.h"
#include "elf/elf_file.h"

namespace previrt::sites {

class SiteTableError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Site {
    size_t table_section = 0;   // index of the previrt_sites section holding the record
    uint64_t record_offset = 0; // offset of the record in that section
    size_t number = 0;          // the record's position in the whole table, from 0
    abi::SiteRecord record{};
    size_t section = 0;         // index of the section holding the instruction
    uint64_t offset = 0;        // the instruction's offset in that section
    uint64_t address = 0;       // its address (linked images), or `offset` (objects)

    bool is_code_mode() const { return record.kind == static_cast<uint8_t>(abi::SiteKind::CodeMode); }
};

// An anchored chunk's instruction sites in an object, left where they are in
// the file (an object may have millions), for a sweep: each record was checked
// as any other.
struct SiteRun {
    size_t section = 0;                // the anchor's section, which holds every site of the run
    uint64_t anchor = 0;               // the anchor's offset in it
    std::span<const uint8_t> records;  // record_count records of record_size bytes
    uint16_t record_size = 0;
    bool ascending = true;             // each site's offset above the one before

    size_t count() const { return records.size() / record_size; }
    uint64_t offset(size_t k) const {  // of site k
        int32_t delta;
        std::memcpy(&delta, records.data() + k * record_size, sizeof delta);
        return anchor + static_cast<uint64_t>(static_cast<int64_t>(delta));
    }
    uint8_t length(size_t k) const { return records[k * record_size + 5]; }  // site_length
};

struct SiteTable {
    std::vector<Site> sites;  // in table order, code-mode records included
    std::vector<SiteRun> runs;  // with anchored_in_place: the anchored chunks of an object
    size_t chunks = 0;
    std::vector<size_t> unfinished_sections;  // object sections whose records are not in a note yet
};

// The records of every site note: in an object, those of its site sections; in
// a linked image, those of any note section (a kernel's linker script may merge
// every note into one). Throws SiteTableError naming the section, the offset and
// what is wrong. An object's site sections may still hold their records bare (an
// object straight from the assembler); a linked image's may not.
// With `anchored_in_place`, an object's anchored chunks of instruction sites
// go to `runs`, checked as the others are, instead of to `sites`.
SiteTable load_site_table(const elf::File& file, bool anchored_in_place = false);

// "section+0xoff (symbol+0xoff)" for messages.
std::string describe_location(const elf::File& file, size_t section, uint64_t offset);

}  // namespace previrt::sites
