// The vCPU's registers as the guest's 64-bit entry protocol wants them, and
// as a dump for the messages that stop a run.
#pragma once

#include <string>

#include "tenders/kvm/kvm.h"
#include "tenders/loader/guest_loader.h"

namespace previrt::kvm {

// Long mode at CPL 0, at the image's entry with its boot registers.
void enter_long_mode(Vcpu& vcpu, const loader::BootState& boot);
// A few lines, each indented by two spaces: rip, rsp, rflags, the general
// registers, the control registers, the segments and descriptor tables.
std::string register_dump(Vcpu& vcpu);

}  // namespace previrt::kvm
