// Which of three kinds of KVM host previrt-vmm runs on (docs/kvm.md, "Three
// kinds of KVM host"), from the host CPU's flags and the hypervisor it itself
// runs under, and what the monitor says of it at start.
#pragma once

#include <string>

namespace previrt::kvm {

enum class Host {
    Software,  // no VT-x/AMD-V: /dev/kvm is a software hypervisor
    Hardware,  // VT-x/AMD-V on silicon
    Tcg,       // AMD-V emulated by QEMU's TCG
};

Host host_kind();
// The line that names it.
std::string describe(Host host);

// Whether the host CPU has VT-x or AMD-V; without, /dev/kvm is a software
// hypervisor that emulates every guest instruction.
bool host_has_hardware_virtualization();
// The hypervisor this host itself runs under, by its CPUID signature
// (leaf 0x40000000: "KVMKVMKVM", "TCGTCGTCGTCG" for QEMU's TCG), or "" on bare metal.
std::string hypervisor_signature();

}  // namespace previrt::kvm
