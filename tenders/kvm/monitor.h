// previrt-vmm: the KVM monitor. Runs the unmodified guest image by
// trap-and-emulate (pure virtualization): the in-kernel irqchip and PIT where
// KVM offers them, everything else from the device library (devices/).
#pragma once

#include <string>

#include "tenders/run_options.h"

namespace previrt::kvm {

// Returns the guest's exit-port status, or a tenders::kExit* status.
int run(const tenders::RunOptions& options);

// Whether the host CPU has VT-x or AMD-V; without, /dev/kvm is a software
// hypervisor that emulates every guest instruction.
bool host_has_hardware_virtualization();
// The hypervisor this host itself runs under, by its CPUID signature
// (leaf 0x40000000: "KVMKVMKVM", "TCGTCGTCGTCG" for QEMU's TCG), or "" on bare metal.
std::string hypervisor_signature();

}  // namespace previrt::kvm
