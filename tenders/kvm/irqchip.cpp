#include "tenders/kvm/irqchip.h"

#include <signal.h>

namespace previrt::kvm {

UserIrqchip::UserIrqchip(pid_t vcpu_tid, int kick_signal)
    : pit_([this](bool level) { pic_.set_irq(pc::pit8254::kIrq, level); }, clock_) {
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

devices::PortDevice* UserIrqchip::model(devices::board::Device device) {
    using devices::board::Device;
    switch (device) {
    case Device::Pic: return &pic_;
    case Device::Pit: return &pit_;
    default: return nullptr;
    }
}

void UserIrqchip::before_run(Vcpu& vcpu) {
    pit_.update();
    kvm_run& r = vcpu.state();
    if (pic_.pending() && r.ready_for_interrupt_injection && r.if_flag)
        vcpu.inject(static_cast<uint8_t>(pic_.acknowledge()));
    // Another request waits: have KVM come back as soon as the guest can take it.
    r.request_interrupt_window = pic_.pending() ? 1 : 0;
    devices::arm_timer_at(timer_, pit_.next_event_ns());
}

bool UserIrqchip::wait_halted(Vcpu& vcpu, std::unique_lock<std::mutex>& lock) {
    if (!can_wake(vcpu)) return false;
    pit_.update();
    if (pic_.pending()) return true;
    uint64_t next = pit_.next_event_ns();
    lock.unlock();
    devices::sleep_until(next);
    lock.lock();
    return true;
}

}  // namespace previrt::kvm
