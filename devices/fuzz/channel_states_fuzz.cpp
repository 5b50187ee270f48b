// libFuzzer target: the monitor's side of the KVM in-place VMM's channel,
// where the device states live in guest memory. The guest may leave any bytes
// there: the models are restored from them, driven by port accesses, input
// bytes and the clock, acknowledged and saved again, as previrt-vmm does
// around each exit and interrupt. Models that started from power-on instead
// (the input's first byte even), on a clock of this century, must also come
// back the same from a save and a restore.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "devices/clock.h"
#include "devices/pc_board.h"
#include "testing/fuzz_input.h"
#include "vmm/kvm/channel.h"
#include "vmm/kvm/channel_devices.h"

namespace {

using namespace previrt::devices;
using previrt::vmm::kvm::Channel;

// The models as both sides of the channel wire them; what the UART sends goes nowhere.
struct Models : previrt::vmm::kvm::ChannelDevices {
    explicit Models(const Clock& clock) : ChannelDevices(clock, [](uint8_t) {}) {}
};

class FuzzClock final : public Clock {
public:
    uint64_t now_ns() const override { return now; }
    uint64_t now = 0;
};

// Two snapshots of a model that must be equal: the first byte that is not, named.
void same(const void* a, const void* b, size_t size, const char* model) {
    auto* x = static_cast<const uint8_t*>(a);
    auto* y = static_cast<const uint8_t*>(b);
    for (size_t i = 0; i < size; ++i)
        if (x[i] != y[i]) {
            std::fprintf(stderr, "%s state byte %zu: %#x saved, %#x after a restore and a save\n", model, i, x[i], y[i]);
            __builtin_trap();
        }
}

// The channel's models' ports, from the board, for the fuzzer to pick from.
bool in_channel(board::Device d) {
    return d == board::Device::Pic || d == board::Device::Pit || d == board::Device::Com1 || d == board::Device::PciHost;
}
uint16_t channel_port(uint8_t pick) {
    unsigned total = 0;
    for (const board::PortRange& r : board::kPorts)
        if (in_channel(r.device)) total += r.count;
    unsigned k = pick % total;
    for (const board::PortRange& r : board::kPorts) {
        if (!in_channel(r.device)) continue;
        if (k < r.count) return static_cast<uint16_t>(r.base + k);
        k -= r.count;
    }
    __builtin_unreachable();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    previrt::test::FuzzInput in{data, size};
    FuzzClock clock;
    uint8_t mode = 0;
    if (!in.take(mode) || !in.take(clock.now)) return 0;
    bool hostile = mode & 1;
    if (!hostile) clock.now &= (uint64_t{1} << 50) - 1;  // some 13 days
    Models m(clock);
    // The channel is some 20 KiB: not on the stack.
    auto states = std::make_unique<Channel>(), resaved = std::make_unique<Channel>();
    if (hostile) {
        Channel& c = *states;
        if (!in.take(c.pic) || !in.take(c.pit) || !in.take(c.uart) || !in.take(c.pci)) return 0;
        m.restore(c);
    }
    // Each step: what, which port, the size, the value.
    uint8_t step[4];
    while (in.take(step)) {
        uint16_t port = channel_port(step[1]);
        unsigned width = 1u << (step[2] % 3);
        switch (step[0] % 6) {
        case 0: (void)m.at(port)->read(port, width); break;
        case 1: m.at(port)->write(port, width, step[3] * 0x01010101u); break;
        case 2:
            clock.now += uint64_t{step[3]} << (step[2] % 32);  // up to some 18 minutes a step
            m.pit.update();
            break;
        case 3:
            if (m.pic.pending()) (void)m.pic.acknowledge();
            break;
        case 4:
            if (m.uart.can_receive()) m.uart.receive(step[3]);
            break;
        case 5: {
            if (hostile) break;
            // Saved, and restored into fresh models: the same state again.
            const Channel& saved = *states;
            m.save(*states);
            Models again(clock);
            again.restore(saved);
            again.save(*resaved);
            same(&saved.pic, &resaved->pic, sizeof saved.pic, "PIC");
            same(&saved.pit, &resaved->pit, sizeof saved.pit, "PIT");
            same(&saved.uart, &resaved->uart, sizeof saved.uart, "UART");
            same(&saved.pci, &resaved->pci, sizeof saved.pci, "PCI host");
            break;
        }
        }
    }
    m.save(*states);
    return 0;
}
