#include "tenders/kvm/device_exits.h"

#include <fmt/format.h>

#include <cstring>

namespace previrt::kvm {

std::optional<int> DeviceExits::io(kvm_run& run) {
    auto* data = reinterpret_cast<uint8_t*>(&run) + run.io.data_offset;
    for (uint32_t i = 0; i < run.io.count; ++i, data += run.io.size) {
        if (run.io.direction == KVM_EXIT_IO_OUT) write(run.io.port, run.io.size, data);
        else read(run.io.port, run.io.size, data);
    }
    if (exit_port_.status()) return *exit_port_.status();
    return std::nullopt;
}

void DeviceExits::write(uint16_t port, unsigned size, const uint8_t* data) {
    uint32_t value = 0;
    std::memcpy(&value, data, size);
    if (!bus_.write(port, size, value) && first_report(port))
        messages_ << fmt::format("previrt-vmm: write to unknown port {:#x} ignored\n", port);
}

void DeviceExits::read(uint16_t port, unsigned size, uint8_t* data) {
    uint32_t value = 0;
    if (!bus_.read(port, size, value)) {
        value = 0xffffffff;
        if (first_report(port)) messages_ << fmt::format("previrt-vmm: read of unknown port {:#x}: all ones\n", port);
    }
    std::memcpy(data, &value, size);
}

void DeviceExits::mmio(kvm_run& run) {
    bool write = run.mmio.is_write;
    if (!write) std::memset(run.mmio.data, 0xff, sizeof run.mmio.data);
    if (first_report(run.mmio.phys_addr))
        messages_ << fmt::format("previrt-vmm: {} of unknown MMIO address {:#x}{}\n", write ? "write" : "read",
                                 run.mmio.phys_addr, write ? " ignored" : ": all ones");
}

}  // namespace previrt::kvm
