#include "tenders/kvm/host.h"

#include <cpuid.h>

#include <cstdint>
#include <cstring>
#include <fstream>

namespace previrt::kvm {

Host host_kind() {
    if (!host_has_hardware_virtualization()) return Host::Software;
    // QEMU's TCG says who it is (testing/amdv): its AMD-V has the hardware's
    // semantics, but its clock is no silicon's.
    return hypervisor_signature() == "TCGTCGTCGTCG" ? Host::Tcg : Host::Hardware;
}

std::string describe(Host host) {
    switch (host) {
    case Host::Tcg:
        return "previrt-vmm: KVM on hardware virtualization (AMD-V emulated by QEMU TCG): the guest runs natively on "
               "the emulated CPU, whose times say little about silicon\n";
    case Host::Hardware: return "previrt-vmm: KVM on hardware virtualization (VT-x/AMD-V): the guest runs natively\n";
    case Host::Software: break;
    }
    return "previrt-vmm: KVM without VT-x/AMD-V on this host: a software hypervisor that emulates every guest "
           "instruction\n";
}

bool host_has_hardware_virtualization() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (!line.starts_with("flags")) continue;
        return line.find(" vmx") != std::string::npos || line.find(" svm") != std::string::npos;
    }
    return false;
}

std::string hypervisor_signature() {
    uint32_t eax, ebx, ecx, edx;
    __cpuid(1, eax, ebx, ecx, edx);
    if (!(ecx & (1u << 31))) return "";  // CPUID.1:ECX.31, set by hypervisors for their guests
    __cpuid(0x4000'0000, eax, ebx, ecx, edx);
    char s[12];
    std::memcpy(s, &ebx, 4);
    std::memcpy(s + 4, &ecx, 4);
    std::memcpy(s + 8, &edx, 4);
    return std::string(s, strnlen(s, sizeof s));
}

}  // namespace previrt::kvm
