#include "tenders/kvm/console_input.h"

#include <poll.h>
#include <unistd.h>

namespace previrt::kvm {

ConsoleInput::ConsoleInput(int fd, std::function<void(uint8_t)> deliver)
    : fd_(fd), deliver_(std::move(deliver)), thread_([this] { loop(); }) {}

ConsoleInput::~ConsoleInput() {
    stopping_ = true;
    thread_.join();
}

void ConsoleInput::loop() {
    // A poll with a timeout, so that the owner's stop is seen within 100 ms.
    while (!stopping_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        uint8_t c;
        if (read(fd_, &c, 1) != 1) return;
        deliver_(c);
    }
}

}  // namespace previrt::kvm
