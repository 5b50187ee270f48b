// The four models whose states live in the channel (channel.h), wired as on
// the PC: the PIT's OUT0 and COM1's interrupt drive the PIC pair's lines; the
// pair's own INT has no callback, its caller looks at pending() after an
// access. One definition for every side that runs them on the channel's
// states: the in-place VMM inside the guest (image/vmm.cpp), previrt-vmm
// (tenders/kvm/in_place.cpp) and the fuzz target of the states. When each
// side loads and stores (the generation count) stays its own.
//
// Freestanding.
#pragma once

#include <stdint.h>

#include "devices/callback.h"
#include "devices/clock.h"
#include "devices/pc_board.h"
#include "devices/pci_host.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/port_device.h"
#include "devices/uart16550.h"
#include "vmm/kvm/channel.h"

namespace previrt::vmm::kvm {

class ChannelDevices {
public:
    // Which states save() writes.
    enum Model : unsigned { kPic = 1, kPit = 2, kUart = 4, kPci = 8, kAll = 15 };
    static constexpr unsigned model_of(const devices::Pic8259Pair&) { return kPic; }
    static constexpr unsigned model_of(const devices::Pit8254&) { return kPit; }
    static constexpr unsigned model_of(const devices::Uart16550&) { return kUart; }
    static constexpr unsigned model_of(const devices::PciHost&) { return kPci; }

    // What the UART sends goes to `transmit`.
    ChannelDevices(const devices::Clock& clock, devices::Callback<void(uint8_t)> transmit)
        : pit([this](bool level) { pic.set_irq(pc::pit8254::kIrq, level); }, clock),
          uart([this](bool level) { pic.set_irq(pc::uart16550::kCom1Irq, level); }, transmit) {}
    // The lines point into this object.
    ChannelDevices(const ChannelDevices&) = delete;
    ChannelDevices& operator=(const ChannelDevices&) = delete;

    devices::Pic8259Pair pic{[](bool) {}};
    devices::Pit8254 pit;
    devices::Uart16550 uart;
    devices::PciHost pci;

    // Each model from its state in `c`, whatever bytes are there.
    void restore(const Channel& c) {
        pic.restore(c.pic);
        pit.restore(c.pit);
        uart.restore(c.uart);
        pci.restore(c.pci);
    }
    // The states of `models` into `c`.
    void save(Channel& c, unsigned models = kAll) const {
        if (models & kPic) c.pic = pic.save();
        if (models & kPit) c.pit = pit.save();
        if (models & kUart) c.uart = uart.save();
        if (models & kPci) c.pci = pci.save();
    }
    // All four states into `c` unless it holds them already, byte for byte;
    // whether it did not.
    bool save_if_changed(Channel& c) const {
        auto pic_state = pic.save();
        auto pit_state = pit.save();
        auto uart_state = uart.save();
        auto pci_state = pci.save();
        if (!__builtin_memcmp(&pic_state, &c.pic, sizeof pic_state) &&
            !__builtin_memcmp(&pit_state, &c.pit, sizeof pit_state) &&
            !__builtin_memcmp(&uart_state, &c.uart, sizeof uart_state) &&
            !__builtin_memcmp(&pci_state, &c.pci, sizeof pci_state))
            return false;
        c.pic = pic_state;
        c.pit = pit_state;
        c.uart = uart_state;
        c.pci = pci_state;
        return true;
    }

    // Calls `access` with the board's model at `port` by its own type (so
    // that the call is direct); false for a port none of the four answers.
    template <typename Access>
    bool with_model(uint16_t port, Access access) {
        using devices::board::Device;
        switch (devices::board::device_at(port)) {
        case Device::Pic: access(pic); return true;
        case Device::Pit: access(pit); return true;
        case Device::Com1: access(uart); return true;
        case Device::PciHost: access(pci); return true;
        default: return false;
        }
    }
    // The model behind `port`, if it is one of these.
    devices::PortDevice* at(uint16_t port) {
        devices::PortDevice* model = nullptr;
        with_model(port, [&model](devices::PortDevice& m) { model = &m; });
        return model;
    }
};

}  // namespace previrt::vmm::kvm
