#include "tenders/kvm/irqchip.h"

#include <signal.h>

#include "devices/pc_board.h"

namespace previrt::kvm {

UserIrqchip::UserIrqchip(devices::PortBus& bus, pid_t vcpu_tid, int kick_signal)
    : pit_([this](bool level) { pic_.set_irq(pc::pit8254::kIrq, level); }, clock_) {
    for (const devices::board::PortRange& r : devices::board::kPorts) {
        if (r.device == devices::board::Device::Pic) bus.add(r.base, r.count, pic_, r.name);
        if (r.device == devices::board::Device::Pit) bus.add(r.base, r.count, pit_, r.name);
    }
    sigevent sev{};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = kick_signal;
    sev._sigev_un._tid = vcpu_tid;
    have_timer_ = timer_create(CLOCK_MONOTONIC, &sev, &timer_) == 0;
    if (!have_timer_) throw KvmError("timer_create for the PIT", errno);
}

UserIrqchip::~UserIrqchip() {
    if (have_timer_) timer_delete(timer_);
}

int UserIrqchip::before_run(Vcpu& vcpu) {
    pit_.update();
    kvm_run& r = vcpu.state();
    int injected = -1;
    if (pic_.pending() && r.ready_for_interrupt_injection && r.if_flag) {
        injected = pic_.acknowledge();
        vcpu.inject(static_cast<uint8_t>(injected));
    }
    // Another request waits: have KVM come back as soon as the guest can take it.
    r.request_interrupt_window = pic_.pending() ? 1 : 0;
    devices::arm_timer_at(timer_, pit_.next_event_ns());
    return injected;
}

void UserIrqchip::wait(std::unique_lock<std::mutex>& lock) {
    pit_.update();
    if (pic_.pending()) return;
    uint64_t next = pit_.next_event_ns();
    lock.unlock();
    devices::sleep_until(next);
    lock.lock();
}

}  // namespace previrt::kvm
