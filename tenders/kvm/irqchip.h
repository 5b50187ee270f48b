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
#include "devices/port_bus.h"
#include "tenders/kvm/kvm.h"

namespace previrt::kvm {

class UserIrqchip {
public:
    // Adds the PIC pair (0x20, 0xa0) and the PIT (0x40-0x43, port B 0x61) to
    // `bus`. The timer signals the vCPU thread with `kick_signal` (thread `vcpu_tid`), whose handler
    // must end a KVM_RUN in progress or about to start (immediate_exit).
    UserIrqchip(devices::PortBus& bus, pid_t vcpu_tid, int kick_signal);
    ~UserIrqchip();
    UserIrqchip(const UserIrqchip&) = delete;
    UserIrqchip& operator=(const UserIrqchip&) = delete;

    // A device's interrupt line (under the caller's device lock).
    void set_irq(unsigned irq, bool level) { pic_.set_irq(irq, level); }

    // Before each KVM_RUN (under the device lock): the PIT caught up with the
    // host's time, the pending interrupt injected if the vCPU can take it,
    // else an interrupt window asked for; the timer armed for the next tick.
    // Returns the vector injected, or -1.
    int before_run(Vcpu& vcpu);

    // KVM_EXIT_HLT: whether an interrupt can wake the vCPU (its IF is set).
    // If so, the caller waits with wait(), then runs the vCPU again.
    static bool can_wake(Vcpu& vcpu) { return vcpu.state().if_flag; }
    // Sleeps until the PIT's next tick or a kick (console input); `lock` is
    // the device lock, released while sleeping.
    void wait(std::unique_lock<std::mutex>& lock);

private:
    devices::MonotonicClock clock_;
    devices::Pic8259Pair pic_{[](bool) {}};  // its INT is looked at before each run
    devices::Pit8254 pit_;
    timer_t timer_{};
    bool have_timer_ = false;
};

}  // namespace previrt::kvm
