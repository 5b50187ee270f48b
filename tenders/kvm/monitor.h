// previrt-vmm: the KVM monitor. Runs the unmodified guest image by
// trap-and-emulate (pure virtualization): the in-kernel irqchip and PIT where
// KVM offers them, everything else from the device library (devices/).
#pragma once

#include "tenders/run_options.h"

namespace previrt::kvm {

// Returns the guest's exit-port status, or a tenders::kExit* status.
int run(const tenders::RunOptions& options);

}  // namespace previrt::kvm
