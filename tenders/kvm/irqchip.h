// The PC's interrupt controllers and timer for a VM without KVM's in-kernel
// ones (a host that does not offer them, or --no-kvm-irqchip): the device
// library's 8259 pair and 8254 on the port bus, their interrupt injected with
// KVM_INTERRUPT when the vCPU can take one (or an interrupt window asked
// for), the PIT's ticks timed by a host timer that kicks KVM_RUN.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <mutex>

#include "devices/host_clock.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "tenders/kvm/interrupt_model.h"
#include "tenders/kvm/kvm.h"

namespace previrt::kvm {

class UserIrqchip final : public InterruptModel {
public:
    // The timer signals the vCPU thread with `kick_signal` (thread `vcpu_tid`), whose handler
    // must end a KVM_RUN in progress or about to start (immediate_exit).
    UserIrqchip(pid_t vcpu_tid, int kick_signal);
    ~UserIrqchip() override;
    UserIrqchip(const UserIrqchip&) = delete;
    UserIrqchip& operator=(const UserIrqchip&) = delete;

    // The PIC pair (0x20, 0xa0) and the PIT (0x40-0x43, port B 0x61).
    devices::PortDevice* model(devices::board::Device device) override;
    // A device's interrupt line (under the caller's device lock).
    void set_irq(unsigned irq, bool level) override { pic_.set_irq(irq, level); }

    // Before each KVM_RUN (under the device lock): the PIT caught up with the
    // host's time, the pending interrupt injected if the vCPU can take it,
    // else an interrupt window asked for; the timer armed for the next tick.
    void before_run(Vcpu& vcpu) override;

    // KVM_EXIT_HLT with interrupts on: sleeps until the PIT's next tick or a
    // kick (console input); `lock` is the device lock, released while sleeping.
    bool wait_halted(Vcpu& vcpu, std::unique_lock<std::mutex>& lock) override;

private:
    devices::MonotonicClock clock_;
    devices::Pic8259Pair pic_{[](bool) {}};  // its INT is looked at before each run
    devices::Pit8254 pit_;
    timer_t timer_{};
    bool have_timer_ = false;
};

}  // namespace previrt::kvm
