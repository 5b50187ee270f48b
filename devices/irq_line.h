// A device's interrupt output. The caller decides what the line is wired to
// (KVM_IRQ_LINE for the KVM monitor, an emulated PIC for an in-place VMM, a
// recorder in a test); the device only says the line's level.
#pragma once

#include <utility>

#include "devices/callback.h"

namespace previrt::devices {

using IrqLine = Callback<void(bool level)>;

// Drives an IrqLine as a level and calls it only when the level changes, so a
// device can re-evaluate its interrupt condition after every register access
// without flooding its caller. The line starts low, as after reset.
class IrqLevel {
public:
    explicit IrqLevel(IrqLine line) : line_(std::move(line)) {}

    void set(bool level) {
        if (level == level_) return;
        level_ = level;
        if (line_) line_(level);
    }
    bool level() const { return level_; }
    // Takes `level` as the line's level without calling the line: for a device
    // restored from a snapshot, whose line already stands where it was driven.
    void restore(bool level) { level_ = level; }

private:
    IrqLine line_;
    bool level_ = false;
};

}  // namespace previrt::devices
