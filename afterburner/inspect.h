// `previrt inspect`: the link-time check. Lists an image's sites by kind and
// section, verifies each (the recorded instruction is there, decodes to the
// recorded kind and operands, and is followed by nothing but NOPs), and sweeps
// every executable section for sensitive instructions that have no record.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sites/site_table.h"
#include "elf/elf_file.h"

namespace previrt::afterburner {

struct Finding {
    uint64_t address = 0;  // in a linked image; the section offset in an object
    std::string location;  // address and symbol
    std::string message;
};

struct InspectReport {
    sites::SiteTable table;
    std::map<std::pair<std::string, std::string>, size_t> counts;  // (section, kind) -> sites
    size_t without_room = 0;       // sites with no scratch space: every in-place VMM traps there
    std::vector<Finding> findings;  // empty when the image is sound
    size_t instructions_scanned = 0;
};

InspectReport inspect(const elf::File& file);

// A sensitive instruction no site record covers, as the sweep finds it:
// linear from each executable section's start, restarting at every symbol
// and site, in each recorded code mode.
struct Unrecorded {
    size_t section = 0;
    uint64_t offset = 0;  // in the section
    uint8_t length = 0;
    uint8_t mode = 0;     // abi::kSiteMode*
    std::string text;     // disassembled
    std::string kind;     // the catalogue's name
};
std::vector<Unrecorded> unrecorded_instructions(const elf::File& file, const sites::SiteTable& table);

// One line per site: address, symbol, kind, lengths, disassembly.
std::vector<std::string> list_sites(const elf::File& file, const sites::SiteTable& table);

}  // namespace previrt::afterburner
