#include "tenders/kvm/in_place.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>

#include "devices/host_clock.h"
#include "previrt/paravirt.h"
#include "vmm/kvm/channel_devices.h"
#include "vmm/kvm/hole.h"
#include "vmm/kvm/site_rewriter.h"
#include "x86/paging.h"

// The image vmm/kvm builds, put into previrt by in_place_image.S.
extern "C" const uint8_t previrt_kvm_vmm_image[];
extern "C" const uint8_t previrt_kvm_vmm_image_end[];

namespace previrt::kvm {
namespace {

using namespace vmm::kvm;

constexpr uint64_t kLargePageFlags = x86::kPtePresent | x86::kPteWritable | x86::kPteLarge;  // a 2 MiB page

// The device models' time on the monitor's side: nanoseconds since the VMM's
// hello, never behind what either side last gave the models.
class ChannelClock final : public devices::Clock {
public:
    ChannelClock(Channel& c, uint64_t origin) : c_(c), origin_(origin) {}
    uint64_t now_ns() const override {
        uint64_t ns = devices::monotonic_now_ns() - origin_;
        uint64_t floor = c_.clock_floor_ns;
        if (ns < floor) ns = floor;
        c_.clock_floor_ns = ns;
        return ns;
    }

private:
    Channel& c_;
    uint64_t origin_;
};

// The models around the channel's states for one look by the monitor. What
// the UART sends from here (a port access that exited) goes to `transmit`.
struct Devices : ChannelDevices {
    explicit Devices(const devices::Clock& clock, devices::Callback<void(uint8_t)> transmit = [](uint8_t) {})
        : ChannelDevices(clock, transmit) {}
    void load(const Channel& c) { restore(c); }
    // Writes the states back if they changed, and tells the VMM to reload them.
    void store(Channel& c) {
        if (save_if_changed(c)) ++c.generation;
    }
};

}  // namespace

InPlace::InPlace(Vm& vm, const elf::File& guest, bool paravirt, std::span<uint8_t> ram, uint64_t boot_pdpt,
                 const std::vector<kvm_cpuid_entry2>& cpuid, uint64_t tsc_khz, pid_t vcpu_tid, int kick_signal,
                 std::FILE* console)
    : ram_(ram), console_(console) {
    void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw KvmError("mmap of the in-place VMM's memory", errno);
    memory_ = static_cast<uint8_t*>(p);
    vm.set_memory(1, kPhysBase, memory_, kSize);

    // The image: its allocated sections where it is linked.
    elf::File image = elf::File::parse({previrt_kvm_vmm_image, previrt_kvm_vmm_image_end});
    for (const elf::Section& s : image.sections()) {
        if (!(s.flags & 2 /* SHF_ALLOC */) || s.data.empty()) continue;
        if (s.addr < kBase || s.addr - kBase > kImageMax || s.size > kImageMax - (s.addr - kBase))
            throw KvmError("the in-place VMM image is not linked inside its part of the hole", EINVAL);
        std::memcpy(memory_ + (s.addr - kBase), s.data.data(), s.data.size());
    }

    // The hole's page directory, and the boot page tables' way to it.
    auto* pd = reinterpret_cast<uint64_t*>(memory_ + (kPageDirectory - kBase));
    for (uint64_t i = 0; i < kSize / kLargePage; ++i) pd[i] = (kPhysBase + i * kLargePage) | kLargePageFlags;
    if (boot_pdpt + 8 * (kPdptIndex + 1) > ram.size()) throw KvmError("the boot page tables are not in RAM", EINVAL);
    std::memcpy(ram.data() + boot_pdpt + 8 * kPdptIndex, &kPdptEntry, 8);

    // The guest's sites, rewritten into calls of stubs into the image's entry;
    // a para-virtualized guest calls the image's para-virtual entries itself.
    vmm::kvm::Rewrite rw;
    if (!paravirt) {
        rw = rewrite_sites(guest, ram.data(), layout::kKernelBase, ram.size(), true, memory_ + (kStubs - kBase),
                           image.entry());
        std::memcpy(memory_ + (kSiteTable - kBase), rw.table.data(), rw.table.size() * sizeof(SiteEntry));
    }
    summary_ = paravirt ? fmt::format("previrt-vmm: in-place VMM loaded at {:#x}: the para-virtualized guest calls it "
                                      "directly (its entries at {:#x}), no site rewritten\n",
                                      kBase, pv::kEntryBase)
               : rw.total ? fmt::format("previrt-vmm: in-place VMM loaded at {:#x}: {} of {} sites rewritten\n{}", kBase,
                                        rw.rewritten, rw.total, rw.summary)
                          : "previrt-vmm: warning: the image has no site records (not built through the afterburner): "
                            "the in-place VMM is loaded, but nothing calls it\n";

    Channel& c = channel();
    reader_.emplace(c, console);
    c.magic = kMagic;
    c.version = kVersion;
    c.ram_size = ram.size();
    c.tsc_to_ns = (uint64_t{1'000'000} << 32) / (tsc_khz ? tsc_khz : 1);
    c.site_count = static_cast<uint32_t>(rw.table.size());
    for (const kvm_cpuid_entry2& e : cpuid) {
        if (c.cpuid_count == kMaxCpuid) break;  // the rest KVM answers, with an exit
        c.cpuid[c.cpuid_count++] = {e.function, e.index, (e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ? 1u : 0u,
                                    e.eax, e.ebx, e.ecx, e.edx, 0};
    }
    // The devices as at power-on.
    ChannelClock clock(c, devices::monotonic_now_ns());
    Devices(clock).save(c);
    c.generation = 1;

    sigevent sev{};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = kick_signal;
    sev._sigev_un._tid = vcpu_tid;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer_) != 0) throw KvmError("timer_create for the PIT", errno);
    have_timer_ = true;

    event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0 || stop_fd_ < 0) throw KvmError("eventfd", errno);
    vm.port_ioeventfd(kConsolePort, 1, event_fd_);
    console_thread_ = std::thread([this, vcpu_tid, kick_signal] {
        console_thread();
        if (!console_error().empty()) syscall(SYS_tgkill, getpid(), vcpu_tid, kick_signal);
    });
}

InPlace::~InPlace() {
    uint64_t one = 1;
    if (stop_fd_ >= 0 && write(stop_fd_, &one, sizeof one) < 0) {}
    if (console_thread_.joinable()) console_thread_.join();
    try {
        drain_console();
    } catch (const ChannelError&) {
    }
    if (have_timer_) timer_delete(timer_);
    if (event_fd_ >= 0) close(event_fd_);
    if (stop_fd_ >= 0) close(stop_fd_);
    if (memory_) munmap(memory_, kSize);
}

Channel& InPlace::channel() const { return *reinterpret_cast<Channel*>(memory_ + (kChannel - kBase)); }

uint64_t InPlace::host_time(uint64_t device_ns) const {
    uint64_t origin = reader_->host_origin();
    if (device_ns == UINT64_MAX || device_ns > UINT64_MAX - origin) return UINT64_MAX;
    return origin + device_ns;
}

void InPlace::before_run(Vcpu& vcpu) {
    Channel& c = channel();
    kvm_run& r = vcpu.state();
    uint64_t origin = reader_->host_origin();
    if (!origin) return;  // the VMM has not said hello: the guest has touched no device yet
    bool at_doorbell = reader_->take_at_doorbell();
    if (c.busy && !at_doorbell) {
        // Stopped inside the VMM in the middle of an access: leave the states
        // alone, and come back once the guest can take an interrupt (after the
        // VMM) if one may be due.
        r.request_interrupt_window = !input_.empty() || devices::monotonic_now_ns() >= armed_at_;
        return;
    }
    ChannelClock clock(c, origin);
    Devices d(clock);
    d.load(c);
    d.pit.update();
    while (!input_.empty() && d.uart.can_receive()) {
        d.uart.receive(input_.front());
        input_.erase(input_.begin());
    }
    if (d.pic.pending() && r.ready_for_interrupt_injection && r.if_flag && !c.busy) {
        vcpu.inject(d.pic.acknowledge());
        c.interrupt_announced = 0;
        ++injected_;
    }
    r.request_interrupt_window = d.pic.pending() ? 1 : 0;
    d.store(c);
    armed_at_ = host_time(d.pit.next_event_ns());
    devices::arm_timer_at(timer_, armed_at_);
}

uint32_t InPlace::DevicePorts::read(uint16_t port, unsigned size) {
    uint32_t value = 0;
    owner_.access(port, size, false, value);
    return value;
}

void InPlace::DevicePorts::write(uint16_t port, unsigned size, uint32_t value) {
    owner_.access(port, size, true, value);
}

void InPlace::access(uint16_t port, unsigned size, bool write, uint32_t& value) {
    // An access that exits: the guest's own instruction, outside the VMM (the
    // VMM passes on only the ports it does not model). Before the VMM's hello
    // the devices' clock has not started: it stands at 0.
    Channel& c = channel();
    uint64_t origin = reader_->host_origin() ? reader_->host_origin() : devices::monotonic_now_ns();
    ChannelClock clock(c, origin);
    std::string sent;
    Devices d(clock, [&sent](uint8_t byte) { sent.push_back(static_cast<char>(byte)); });
    d.load(c);
    devices::PortDevice* model = d.at(port);
    if (write) model->write(port, size, value);
    else value = model->read(port, size);
    d.store(c);
    ++exits_to_models_;
    if (!sent.empty()) {
        drain_console();  // what the VMM sent before goes first
        std::fwrite(sent.data(), 1, sent.size(), console_);
        std::fflush(console_);
    }
}

void InPlace::wait(std::unique_lock<std::mutex>& lock) {
    // The VMM rings for console output at the end of a line: what a guest that
    // now waits wrote since (a prompt) goes out before it sleeps.
    drain_console();
    uint64_t next = UINT64_MAX;
    if (uint64_t origin = reader_->host_origin()) {
        Channel& c = channel();
        ChannelClock clock(c, origin);
        Devices d(clock);
        d.load(c);
        d.pit.update();
        bool pending = d.pic.pending();
        d.store(c);
        if (pending || !input_.empty()) return;
        next = host_time(d.pit.next_event_ns());
    }
    lock.unlock();
    devices::sleep_until(next);
    lock.lock();
}

void InPlace::console_thread() {
    pollfd fds[2] = {{event_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
        if (fds[1].revents) return;
        uint64_t n;
        if (read(event_fd_, &n, sizeof n) < 0 && errno != EAGAIN) return;
        try {
            drain_console();
        } catch (const ChannelError& e) {
            std::lock_guard g(console_error_lock_);
            console_error_ = e.what();
            return;
        }
    }
}

std::string InPlace::console_error() const {
    std::lock_guard g(console_error_lock_);
    return console_error_;
}

std::string InPlace::stats() const {
    const Channel& c = channel();
    return fmt::format(
        "in-place VMM: {} site calls, {} para-virtual calls, {} port accesses answered in place, {} passed on; {} exited "
        "and reached its models through the channel; doorbells: {} hello, {} interrupt, {} console full, {} timer; {} "
        "interrupts injected\n",
        c.site_calls, c.paravirt_calls, c.ports_in_place, c.ports_forwarded, exits_to_models_, reader_->rung(kHello),
        reader_->rung(kInterrupt), reader_->rung(kConsoleFull), reader_->rung(kTimer), injected_);
}

}  // namespace previrt::kvm
