// The seccomp filter the process hypervisor runs under while the guest does.
// The guest kernel runs natively in this process, so a `syscall` instruction
// in guest code would be a host system call: the filter sends every system
// call made from a guest address (below the VMM hole's end) to SIGSYS, which
// the VMM turns into the guest's own `syscall`. The VMM itself keeps only the
// calls it needs; any other fails with EPERM. A guest that takes over the
// whole process (it shares it with the in-place VMM, as the design wants)
// still cannot open a file, start a program or reach the network.
#pragma once

#include <string>

namespace previrt::vmm::process {

// Installs the filter for the rest of the process's life (with
// no_new_privs). False with `error` set if the host refuses.
bool install_host_filter(std::string& error);

}  // namespace previrt::vmm::process
