// QEMU (TCG) as the bare PC: the guest boots through Multiboot from the same
// ELF file every other platform runs.
#pragma once

#include "tenders/run_options.h"

namespace previrt::tenders {

// Runs the guest to its end; returns the status it wrote to the exit port, or
// one of the kExit* statuses. Messages go to stderr.
int run_on_qemu(const RunOptions& options);

// What QEMU's end (its wait status) means: the guest's status through
// isa-debug-exit, kExitGuestNoStatus for a reset, or kExitPlatform when QEMU
// ended before the machine was started or reported an error of its own.
// Says which on stderr.
int exit_status(int wait_status, bool machine_started, bool qemu_reported_error);

}  // namespace previrt::tenders
