#include "tenders/kvm/interrupt_model.h"

#include <fmt/format.h>

#include <cstring>

#include "tenders/kvm/in_place.h"
#include "vmm/kvm/channel.h"

namespace previrt::kvm {

Interrupts choose_interrupts(const tenders::RunOptions& options, const loader::Paravirt& paravirt,
                             bool kvm_has_irqchip) {
    if (options.kvm_in_place || paravirt) return Interrupts::InPlace;
    return options.kvm_irqchip && kvm_has_irqchip ? Interrupts::InKernel : Interrupts::User;
}

std::string describe(Interrupts kind, const loader::Paravirt& paravirt) {
    switch (kind) {
    case Interrupts::InPlace:
        return (paravirt ? fmt::format("previrt-vmm: para-virtualized (KVM's interface, version {}): ",
                                       paravirt.version)
                         : std::string("previrt-vmm: pre-virtualized: ")) +
               "8259 PIC pair, 8254 PIT, UART, PCI host bridge: the device library's models in the in-place VMM, "
               "inside the guest; CMOS, exit port, POST codes: previrt-vmm (interrupts injected with KVM_INTERRUPT)\n";
    case Interrupts::InKernel:
        return "previrt-vmm: 8259 PIC pair, 8254 PIT: KVM's in-kernel models; UART, PCI host bridge, CMOS, exit port: "
               "previrt's device library\n";
    case Interrupts::User: break;
    }
    return "previrt-vmm: 8259 PIC pair, 8254 PIT, UART, PCI host bridge, CMOS, exit port: previrt's device library "
           "(interrupts injected with KVM_INTERRUPT)\n";
}

InPlaceInterrupts::InPlaceInterrupts(std::unique_ptr<InPlace> vmm) : vmm_(std::move(vmm)) {}

InPlaceInterrupts::~InPlaceInterrupts() = default;

devices::PortDevice* InPlaceInterrupts::model(devices::board::Device device) {
    using devices::board::Device;
    switch (device) {
    case Device::Pic:
    case Device::Pit:
    case Device::Com1:
    case Device::PciHost: return &vmm_->device_ports();
    default: return nullptr;
    }
}

void InPlaceInterrupts::receive(uint8_t byte, devices::Uart16550&) { vmm_->receive(byte); }

void InPlaceInterrupts::before_run(Vcpu& vcpu) { vmm_->before_run(vcpu); }

void InPlaceInterrupts::after_run() {
    if (std::string broken = vmm_->console_error(); !broken.empty()) throw ChannelError(broken);
}

bool InPlaceInterrupts::port_exit(Vcpu& vcpu) {
    kvm_run& r = vcpu.state();
    if (r.io.port != vmm::kvm::kDoorbellPort) return false;
    auto* data = reinterpret_cast<uint8_t*>(&r) + r.io.data_offset;
    // A single write rings; a read gives all ones, a string of writes nothing.
    if (r.io.direction != KVM_EXIT_IO_OUT || r.io.count != 1) {
        if (r.io.direction != KVM_EXIT_IO_OUT) std::memset(data, 0xff, size_t{r.io.size} * r.io.count);
        return true;
    }
    uint32_t why = 0;
    std::memcpy(&why, data, r.io.size);
    vmm_->doorbell(vcpu, why);
    return true;
}

bool InPlaceInterrupts::wait_halted(Vcpu& vcpu, std::unique_lock<std::mutex>& lock) {
    if (!can_wake(vcpu)) return false;
    vmm_->wait(lock);
    return true;
}

std::string InPlaceInterrupts::stats() const { return vmm_->stats(); }

}  // namespace previrt::kvm
