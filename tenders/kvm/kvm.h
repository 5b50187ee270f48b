// The KVM API (Documentation/virt/kvm/api.rst) behind three small owners of
// file descriptors: the system, one VM, one vCPU. Errors are KvmError with the
// ioctl's name and errno.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tenders/host_handles.h"

namespace previrt::kvm {

class KvmError : public std::runtime_error {
public:
    KvmError(const std::string& what, int err);
    int error() const { return error_; }

private:
    int error_;
};

// A descriptor of the KVM API (system, VM, vCPU), closed by its owner.
using Fd = tenders::UniqueFd;

class System {
public:
    // Opens /dev/kvm (or PREVIRT_KVM_DEVICE) and checks the API version.
    System();
    int check_extension(int cap) const;
    int vcpu_mmap_size() const;
    int fd() const { return fd_.get(); }

private:
    Fd fd_;
};

class Vm {
public:
    explicit Vm(const System& system);
    void set_memory(uint32_t slot, uint64_t guest_phys, void* host, uint64_t size);
    void create_irqchip();
    void create_pit();
    void irq_line(uint32_t irq, bool level);
    // KVM_IOEVENTFD: a guest write of any value to `port` completes in the
    // kernel and signals `eventfd`, without an exit to the monitor.
    void port_ioeventfd(uint16_t port, unsigned size, int eventfd);
    int fd() const { return fd_.get(); }

private:
    Fd fd_;
};

class Vcpu {
public:
    Vcpu(const System& system, const Vm& vm, int id);
    ~Vcpu();
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    // KVM_RUN; false if a signal interrupted it (EINTR).
    bool run();
    kvm_run& state() { return *run_; }
    kvm_regs regs() const;
    void set_regs(const kvm_regs& r);
    kvm_sregs sregs() const;
    void set_sregs(const kvm_sregs& s);
    // KVM_INTERRUPT: an external interrupt, for a VM without the in-kernel irqchip.
    void inject(uint8_t vector);
    // Gives the vCPU the host's CPUID (KVM_GET_SUPPORTED_CPUID); returns what it gave.
    std::vector<kvm_cpuid_entry2> set_supported_cpuid(const System& system);
    // KVM_SET_GUEST_DEBUG: a KVM_EXIT_DEBUG after every guest instruction
    // (every iteration of a repeated string instruction), or none.
    void set_single_step(bool on);
    // KVM_GET_TSC_KHZ: the guest's TSC frequency.
    uint64_t tsc_khz() const;

private:
    Fd fd_;
    kvm_run* run_ = nullptr;
    size_t run_size_ = 0;
};

}  // namespace previrt::kvm
