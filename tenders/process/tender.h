// The Linux process as the hypervisor: the guest kernel runs natively,
// de-privileged, in this process; guest user mode in a child process that
// holds nothing but the guest's user pages (user_space.h); the in-place VMM
// (the core in vmm/core, the device library and the process backend in
// vmm/process) beside the guest. This is its tender: set-up, run and end.
#pragma once

#include "tenders/run_options.h"

namespace previrt::vmm::process {

enum class Mode {
    Pure,         // no site rewritten: every privileged instruction traps and is emulated
    Previrtualized,  // the sites rewritten at load time into calls of the in-place VMM
};

// Returns the guest's exit-port status, or a tenders::kExit* status.
int run(const tenders::RunOptions& options, Mode mode);

}  // namespace previrt::vmm::process
