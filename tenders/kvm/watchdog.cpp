#include "tenders/kvm/watchdog.h"

namespace previrt::kvm {

Watchdog::Watchdog(std::chrono::milliseconds limit, std::function<void()> fire)
    : fire_(std::move(fire)), thread_([this, limit] {
          std::unique_lock l(lock_);
          if (stop_.wait_for(l, limit, [this] { return stopping_; })) return;
          fired_ = true;
          fire_();
      }) {}

Watchdog::~Watchdog() {
    {
        std::lock_guard g(lock_);
        stopping_ = true;
    }
    stop_.notify_all();
    thread_.join();
}

}  // namespace previrt::kvm
