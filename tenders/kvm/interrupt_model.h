// Who models the PC's interrupt controllers and timer for previrt-vmm, and
// what its exit loop asks of them: KVM's in-kernel PIC and PIT, previrt's own
// (UserIrqchip, irqchip.h), or the in-place VMM's inside the guest (InPlace,
// in_place.h). The loop asks the same of each; only their answers differ.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "devices/pc_board.h"
#include "devices/port_device.h"
#include "devices/uart16550.h"
#include "tenders/kvm/kvm.h"
#include "tenders/loader/guest_loader.h"
#include "tenders/run_options.h"

namespace previrt::kvm {

class InPlace;

enum class Interrupts { InKernel, User, InPlace };

// Pre-virtualized (--previrt) or para-virtualized, the PIC pair, the PIT, COM1
// and the PCI host bridge live in the in-place VMM; otherwise KVM's in-kernel
// PIC and PIT where KVM offers both (`kvm_has_irqchip`) and --no-kvm-irqchip
// does not refuse them, else previrt's.
Interrupts choose_interrupts(const tenders::RunOptions& options, const loader::Paravirt& paravirt,
                             bool kvm_has_irqchip);
// The line that says at start which models answer which devices.
std::string describe(Interrupts kind, const loader::Paravirt& paravirt);

class InterruptModel {
public:
    virtual ~InterruptModel() = default;

    // The model this one holds for a device of the board (the PIC pair and
    // the PIT; in the in-place VMM, COM1 and the PCI host too), for the port
    // bus; nullptr for the monitor's own or KVM's.
    virtual devices::PortDevice* model(devices::board::Device) { return nullptr; }
    // The monitor's UART's interrupt line (under the device lock).
    virtual void set_irq(unsigned irq, bool level) = 0;
    // A byte of console input (under the device lock): for `uart`, unless
    // this model holds COM1 itself.
    virtual void receive(uint8_t byte, devices::Uart16550& uart) { uart.receive(byte); }
    // Whether a vCPU that may be halted in the monitor must be kicked to see
    // console input (KVM's in-kernel PIC wakes it itself).
    virtual bool needs_kick() const { return true; }

    // Before each KVM_RUN (under the device lock): the pending interrupt
    // injected, or an interrupt window asked for. Throws ChannelError.
    virtual void before_run(Vcpu&) {}
    // After each KVM_RUN: throws ChannelError if the channel was found broken meanwhile.
    virtual void after_run() {}
    // A port exit this model answers itself rather than the bus (the in-place
    // VMM's doorbell), under the device lock: whether it did. Throws ChannelError.
    virtual bool port_exit(Vcpu&) { return false; }
    // KVM_EXIT_HLT, under the device lock (`lock`), which it releases while
    // it sleeps: false if nothing can wake the vCPU, else true once something
    // may have. Throws ChannelError.
    virtual bool wait_halted(Vcpu& vcpu, std::unique_lock<std::mutex>& lock) = 0;

    // Its own counts, a line, for --stats; "" if it keeps none.
    virtual std::string stats() const { return ""; }

protected:
    // Whether an interrupt can wake a halted vCPU (its IF is set).
    static bool can_wake(Vcpu& vcpu) { return vcpu.state().if_flag; }
};

// KVM's in-kernel 8259 pair and 8254, which the VM was created with: the
// UART's line goes to KVM_IRQ_LINE; a hlt never reaches the monitor.
class KernelIrqchip final : public InterruptModel {
public:
    explicit KernelIrqchip(Vm& vm) : vm_(vm) {}
    void set_irq(unsigned irq, bool level) override { vm_.irq_line(irq, level); }
    bool needs_kick() const override { return false; }
    bool wait_halted(Vcpu&, std::unique_lock<std::mutex>&) override { return false; }

private:
    Vm& vm_;
};

// The in-place VMM as the loop sees it: the devices are inside the guest,
// their states in the channel InPlace serves.
class InPlaceInterrupts final : public InterruptModel {
public:
    explicit InPlaceInterrupts(std::unique_ptr<InPlace> vmm);
    ~InPlaceInterrupts() override;

    devices::PortDevice* model(devices::board::Device device) override;
    void set_irq(unsigned, bool) override {}  // the monitor's UART is not on the bus
    void receive(uint8_t byte, devices::Uart16550&) override;
    void before_run(Vcpu& vcpu) override;
    void after_run() override;
    bool port_exit(Vcpu& vcpu) override;
    bool wait_halted(Vcpu& vcpu, std::unique_lock<std::mutex>& lock) override;
    std::string stats() const override;

private:
    std::unique_ptr<InPlace> vmm_;
};

}  // namespace previrt::kvm
