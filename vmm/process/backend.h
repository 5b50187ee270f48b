// The Linux-process hypervisor: the guest kernel runs natively, de-privileged,
// in this process; guest user mode in a child process that holds nothing but
// the guest's user pages (user_space.h); the in-place VMM (the core in
// vmm/core, the device library, and this backend) beside the guest.
#pragma once

#include "platforms/run_options.h"

namespace previrt::vmm::process {

enum class Mode {
    Pure,         // no site rewritten: every privileged instruction traps and is emulated
    Previrtualized,  // the sites rewritten at load time into calls of the in-place VMM
};

// Returns the guest's exit-port status, or a platforms::kExit* status.
int run(const platforms::RunOptions& options, Mode mode);

}  // namespace previrt::vmm::process
