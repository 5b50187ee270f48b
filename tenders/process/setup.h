// The pieces of a run on the process hypervisor (tender.cpp) that work without
// a guest running, apart so that tests can reach them.
#pragma once

#include <cstdint>
#include <string>

#include "vmm/process/machine.h"

namespace previrt::vmm::process {

// The line that says how the guest runs: para-virtualized (interface
// `paravirt`, 0 if not), pure, or pre-virtualized with how many sites were
// rewritten (a warning for an image without site records).
std::string describe_mode(uint32_t paravirt, Mode mode, const RewriteResult& sites, const std::string& image);

// The board's models (devices/pc_board.h) on m.bus, the CMOS sized for m.ram_size.
void wire_board(Machine& m);

// --stats: the VMM's entries by kind, a line each for those that happened.
std::string stats_report(const Stats& stats);

}  // namespace previrt::vmm::process
