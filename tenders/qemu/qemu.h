// QEMU (TCG) as the bare PC: the guest boots through Multiboot from the same
// ELF file every other platform runs.
#pragma once

#include "tenders/run_options.h"

namespace previrt::tenders {

// Runs the guest to its end; returns the status it wrote to the exit port, or
// one of the kExit* statuses. Messages go to stderr.
int run_on_qemu(const RunOptions& options);

}  // namespace previrt::tenders
