// previrt-vmm's side of the in-place VMM (vmm/kvm): loads the VMM image into
// a memory slot of its own and maps it at the guest's hole, rewrites the
// guest's sites for KVM, and then serves the channel: the PIT's ticks and
// the console's bytes delivered into the device states the VMM keeps, the
// PIC's interrupt injected with KVM_INTERRUPT, console output drained in
// batches (a thread woken by an ioeventfd), doorbells answered. Whatever it
// reads from the channel is guest memory: checked, never trusted.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "devices/port_device.h"
#include "elf/elf_file.h"
#include "tenders/kvm/channel_reader.h"
#include "tenders/kvm/kvm.h"
#include "vmm/kvm/channel.h"

namespace previrt::kvm {

class InPlace {
public:
    // Throws vmm::SiteError for a site record that does not match the image.
    // `ram` is guest RAM from guest-physical 0, the guest image already in it;
    // `boot_pdpt` the boot page tables' first PDPT (in `ram`). The console
    // goes to `console`; the PIT's timer signals thread `vcpu_tid` with `kick_signal`.
    // `paravirt`: the guest is built for KVM's para-virtual interface and
    // calls the VMM itself; nothing is rewritten.
    InPlace(Vm& vm, const elf::File& guest, bool paravirt, std::span<uint8_t> ram, uint64_t boot_pdpt,
            const std::vector<kvm_cpuid_entry2>& cpuid, uint64_t tsc_khz, pid_t vcpu_tid, int kick_signal,
            std::FILE* console);
    ~InPlace();
    InPlace(const InPlace&) = delete;
    InPlace& operator=(const InPlace&) = delete;

    // What the rewriter did, one line per kind.
    const std::string& summary() const { return summary_; }

    // Before each KVM_RUN (under the device lock): the timer's ticks and the
    // console's bytes delivered, the PIC's interrupt injected if the vCPU can
    // take it or an interrupt window asked for, the host timer armed.
    void before_run(Vcpu& vcpu);
    // A write to the doorbell port: the VMM stopped at a point where the
    // device states are whole. Throws ChannelError.
    void doorbell(Vcpu&, uint32_t why) { reader_->doorbell(why); }
    // Console input (under the device lock): delivered before the next run.
    void receive(uint8_t byte) { input_.push_back(byte); }
    // KVM_EXIT_HLT with interrupts on: sleeps until the next tick or a kick.
    void wait(std::unique_lock<std::mutex>& lock);
    // Moves the console ring's bytes to the console; throws ChannelError.
    void drain_console() { reader_->drain_console(); }
    // The ports of the models that live in the in-place VMM (PIC pair, PIT
    // and port B, COM1, PCI host), for previrt-vmm's port bus: an access that
    // still exits (an instruction no site covers) runs the same models on the
    // channel's states, so there is one device state whichever way an access
    // arrives. Under the device lock.
    devices::PortDevice& device_ports() { return ports_; }
    // The VMM's own counters, for --stats.
    std::string stats() const;
    // Whether the console thread found the channel broken (its message).
    std::string console_error() const;

private:
    class DevicePorts final : public devices::PortDevice {
    public:
        explicit DevicePorts(InPlace& owner) : owner_(owner) {}
        uint32_t read(uint16_t port, unsigned size) override;
        void write(uint16_t port, unsigned size, uint32_t value) override;

    private:
        InPlace& owner_;
    };
    void access(uint16_t port, unsigned size, bool write, uint32_t& value);

    vmm::kvm::Channel& channel() const;
    uint64_t now_ns();
    uint64_t host_time(uint64_t device_ns) const;
    void console_thread();

    uint8_t* memory_ = nullptr;  // the VMM's slot, vmm::kvm::kSize bytes
    std::span<uint8_t> ram_;
    std::string summary_;
    std::FILE* console_;
    uint64_t armed_at_ = UINT64_MAX;  // monotonic time the host timer fires
    std::optional<ChannelReader> reader_;  // the console ring and the doorbells, once the slot is mapped
    uint64_t injected_ = 0;
    uint64_t exits_to_models_ = 0;  // port accesses that exited and ran the models here
    DevicePorts ports_{*this};
    std::vector<uint8_t> input_;
    timer_t timer_{};
    bool have_timer_ = false;
    mutable std::mutex console_error_lock_;
    std::string console_error_;
    int event_fd_ = -1;
    int stop_fd_ = -1;
    std::thread console_thread_;
};

}  // namespace previrt::kvm
