#include "tenders/host_handles.h"
#include "tenders/kvm/monitor.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "devices/cmos_rtc.h"
#include "devices/exit_port.h"
#include "devices/pc_board.h"
#include "devices/pci_host.h"
#include "devices/port_bus.h"
#include "devices/post_port.h"
#include "devices/uart16550.h"
#include "previrt/guest_layout.h"
#include "previrt/paravirt.h"
#include "tenders/kvm/console_input.h"
#include "tenders/kvm/cpu_state.h"
#include "tenders/kvm/device_exits.h"
#include "tenders/kvm/exit_stats.h"
#include "tenders/kvm/host.h"
#include "tenders/kvm/in_place.h"
#include "tenders/kvm/interrupt_model.h"
#include "tenders/kvm/irqchip.h"
#include "tenders/kvm/kvm.h"
#include "tenders/kvm/watchdog.h"
#include "tenders/loader/guest_loader.h"
#include "vmm/sites/site_check.h"

namespace previrt::kvm {
namespace {

using Count = tenders::RunOptions::Count;
constexpr int kKickSignal = SIGUSR1;

// The kick: ends a KVM_RUN in progress, and, through immediate_exit, one that
// is about to start, so that no kick is lost between a check and the run.
kvm_run* volatile kick_run = nullptr;
void on_kick(int) {
    if (kick_run) kick_run->immediate_exit = 1;
}
// Installed before anything that may send it (the timers, the console threads).
void install_kick() {
    struct sigaction sa{};
    sa.sa_handler = on_kick;
    sigaction(kKickSignal, &sa, nullptr);
}

using tenders::StartError;

// Guest RAM: anonymous memory, unmapped when the run ends.
class GuestMemory {
public:
    explicit GuestMemory(uint64_t size) : size_(size) {
        void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) throw KvmError("mmap of guest memory", errno);
        base_ = static_cast<uint8_t*>(p);
    }
    ~GuestMemory() { munmap(base_, size_); }
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;
    std::span<uint8_t> span() { return {base_, size_}; }

private:
    uint8_t* base_;
    uint64_t size_;
};

// A file the run writes (the console, the exit trace), closed however the run
// ends; standard output is left open.
using OutputFile = tenders::UniqueFile;

OutputFile open_output(const std::string& path, const char* mode) {
    OutputFile f(std::fopen(path.c_str(), mode));
    if (!f) throw StartError(tenders::kExitPlatform, "cannot write " + path);
    return f;
}

// What an exit's handler says: go on, or stop with the run's exit status.
using Outcome = std::optional<int>;
constexpr Outcome kGoOn = std::nullopt;

// One run: set up by the constructor, a step at a time in the order of the
// members (a step that fails throws StartError, and the members set up before
// it are undone by their destructors); run() is the exit loop, a handler per
// exit reason.
class Monitor {
public:
    explicit Monitor(const tenders::RunOptions& options);
    ~Monitor() { kick_run = nullptr; }  // the vCPU goes with the monitor; a late kick finds nothing
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    int run();

private:
    static System open_system();
    static loader::Image open_image(const std::string& path);
    Interrupts announce();
    loader::BootState load_image();
    Vm create_vm();
    std::vector<kvm_cpuid_entry2> prepare_vcpu();
    std::unique_ptr<InterruptModel> create_interrupts();
    void wire_board();
    devices::PortDevice* board_model(devices::board::Device device);
    void start_threads();

    Outcome step();
    Outcome on_signal();
    Outcome on_exit(kvm_run& r);
    Outcome on_io(kvm_run& r);
    Outcome on_mmio(kvm_run& r);
    Outcome on_hlt();
    Outcome on_debug(kvm_run& r);
    Outcome on_unexpected(kvm_run& r);
    Outcome stop_with(const std::string& why, int status);
    void note(const char* kind, uint64_t where, const std::string& detail);
    void on_post(uint8_t code);
    void transmit(uint8_t byte);
    void console_byte(uint8_t byte);
    std::string stop();
    void report(const std::string& model_stats) const;

    const tenders::RunOptions& o_;
    System system_;
    loader::Image image_;
    Interrupts interrupt_kind_;
    GuestMemory ram_;
    loader::BootState boot_;
    Vm vm_;
    Vcpu vcpu_;
    std::vector<kvm_cpuid_entry2> cpuid_;
    OutputFile serial_, trace_;
    pthread_t vcpu_thread_ = pthread_self();
    std::mutex device_lock_;  // the devices are touched by the vCPU thread and the console thread
    devices::PortBus bus_;
    std::unique_ptr<InterruptModel> interrupts_;
    devices::Uart16550 uart_;
    devices::PciHost pci_;
    devices::CmosRtc cmos_;
    devices::ExitPort exit_port_;
    devices::PostPort post_;
    DeviceExits device_exits_{bus_, exit_port_, std::cerr};
    ExitStats stats_;
    PostWindows windows_;
    // With --count-instructions: the guest's instructions, in its own code and in the in-place VMM's.
    uint64_t instructions_ = 0, instructions_in_vmm_ = 0;
    // After a single step the devices are left alone (their ticks still come,
    // through a kick): a monitor that ran them on every step would make the
    // instructions it counts its own doing.
    bool stepped_ = false;
    std::optional<ConsoleInput> console_input_;
    std::optional<Watchdog> watchdog_;
};

Monitor::Monitor(const tenders::RunOptions& o)
    : o_(o), system_(open_system()), image_(open_image(o.image)), interrupt_kind_(announce()),
      ram_(o.memory_mib << 20), boot_(load_image()), vm_(create_vm()), vcpu_(system_, vm_, 0),
      cpuid_(prepare_vcpu()), serial_(o.serial == "stdio" ? OutputFile(stdout) : open_output(o.serial, "wb")),
      trace_(o.trace_exits.empty() ? nullptr : open_output(o.trace_exits, "w")),
      uart_([this](bool level) { interrupts_->set_irq(pc::uart16550::kCom1Irq, level); },
            [this](uint8_t byte) { transmit(byte); }),
      cmos_(o.memory_mib << 20), post_([this](uint8_t code) { on_post(code); }) {
    // Someone may be reading the console as it comes (a prompt ends in no
    // newline): stdio unbuffered, a file flushed at each line.
    if (serial_.get() == stdout) std::setvbuf(stdout, nullptr, _IONBF, 0);
    install_kick();
    interrupts_ = create_interrupts();
    wire_board();
    start_threads();
}

System Monitor::open_system() {
    try {
        return System();
    } catch (const KvmError& e) {
        throw StartError(tenders::kExitNoKvm, std::string(e.what()) + (e.error() == EACCES ? " (no permission)" : ""));
    }
}

loader::Image Monitor::open_image(const std::string& path) {
    try {
        return loader::open_image(path, loader::Platform::Kvm, pv::kParavirtKvmVersion);
    } catch (const loader::LoadError& e) {
        throw StartError(tenders::kExitBadImage, e.what());
    }
}

// Which models answer the devices, said at start with the kind of host.
Interrupts Monitor::announce() {
    bool kvm_has_irqchip = system_.check_extension(KVM_CAP_IRQCHIP) && system_.check_extension(KVM_CAP_PIT2);
    Interrupts kind = choose_interrupts(o_, image_.paravirt, kvm_has_irqchip);
    std::cerr << describe(host_kind()) << describe(kind, image_.paravirt);
    return kind;
}

loader::BootState Monitor::load_image() {
    try {
        return loader::load_guest(image_.file, ram_.span(), o_.command_line);
    } catch (const loader::LoadError& e) {
        throw StartError(tenders::kExitBadImage, fmt::format("{}: {}", o_.image, e.what()));
    }
}

Vm Monitor::create_vm() {
    Vm vm(system_);
    vm.set_memory(0, 0, ram_.span().data(), ram_.span().size());
    // KVM's in-kernel PIC and PIT are the VM's, made before its vCPU.
    if (interrupt_kind_ == Interrupts::InKernel) {
        vm.create_irqchip();
        vm.create_pit();
    }
    return vm;
}

std::vector<kvm_cpuid_entry2> Monitor::prepare_vcpu() {
    std::vector<kvm_cpuid_entry2> cpuid = vcpu_.set_supported_cpuid(system_);
    enter_long_mode(vcpu_, boot_);
    if (o_.count_instructions == Count::All) vcpu_.set_single_step(true);
    return cpuid;
}

std::unique_ptr<InterruptModel> Monitor::create_interrupts() {
    switch (interrupt_kind_) {
    case Interrupts::InKernel: return std::make_unique<KernelIrqchip>(vm_);
    case Interrupts::User: return std::make_unique<UserIrqchip>(gettid(), kKickSignal);
    case Interrupts::InPlace: break;
    }
    try {
        auto vmm = std::make_unique<InPlace>(vm_, image_.file, static_cast<bool>(image_.paravirt), ram_.span(),
                                             loader::kBootPdpt, cpuid_, vcpu_.tsc_khz(), gettid(), kKickSignal,
                                             serial_.get());
        std::cerr << vmm->summary();
        return std::make_unique<InPlaceInterrupts>(std::move(vmm));
    } catch (const vmm::SiteError& e) {
        throw StartError(tenders::kExitBadImage, fmt::format("{}: {}", o_.image, e.what()));
    }
}

// The board's ports: the interrupt model's devices (with the in-place VMM, an
// access that still exits reaches its models through the channel), and
// previrt-vmm's own.
void Monitor::wire_board() {
    for (const devices::board::PortRange& r : devices::board::kPorts)
        if (devices::PortDevice* model = board_model(r.device)) bus_.add(r.base, r.count, *model, r.name);
}

devices::PortDevice* Monitor::board_model(devices::board::Device device) {
    using devices::board::Device;
    if (devices::PortDevice* model = interrupts_->model(device)) return model;
    switch (device) {
    case Device::Com1: return &uart_;
    case Device::PciHost: return &pci_;
    case Device::Cmos: return &cmos_;
    case Device::ExitPort: return &exit_port_;
    case Device::Post: return &post_;
    case Device::Pic:  // KVM's own, in the kernel
    case Device::Pit:
    case Device::None: break;
    }
    return nullptr;
}

// Standard input to the guest's console when the serial output is stdio, or
// with --console-input; --timeout's watchdog.
void Monitor::start_threads() {
    if (o_.serial == "stdio" || o_.console_input)
        console_input_.emplace(STDIN_FILENO, [this](uint8_t byte) { console_byte(byte); });
    if (o_.timeout_seconds)
        watchdog_.emplace(std::chrono::seconds(o_.timeout_seconds), [this] {
            vcpu_.state().immediate_exit = 1;
            pthread_kill(vcpu_thread_, kKickSignal);
        });
}

int Monitor::run() {
    kick_run = &vcpu_.state();
    Outcome outcome;
    do {
        outcome = step();
    } while (!outcome);
    report(stop());
    return *outcome;
}

// One KVM_RUN and what ended it.
Outcome Monitor::step() {
    try {
        {
            std::lock_guard g(device_lock_);
            if (!stepped_) interrupts_->before_run(vcpu_);
            stepped_ = false;
        }
        bool exited = vcpu_.run();
        vcpu_.state().immediate_exit = 0;
        interrupts_->after_run();
        return exited ? on_exit(vcpu_.state()) : on_signal();
    } catch (const ChannelError& e) {
        std::cerr << "previrt-vmm: the guest broke the in-place VMM's channel: " << e.what() << "; stopped\n";
        return tenders::kExitGuestNoStatus;
    }
}

// A kick ended KVM_RUN: a tick, console input, or --timeout.
Outcome Monitor::on_signal() {
    if (!watchdog_ || !watchdog_->fired()) return kGoOn;
    std::cerr << "previrt-vmm: the guest ran past --timeout " << o_.timeout_seconds << "s; stopped\n"
              << register_dump(vcpu_);
    return tenders::kExitTimeout;
}

Outcome Monitor::on_exit(kvm_run& r) {
    switch (r.exit_reason) {
    case KVM_EXIT_IO: return on_io(r);
    case KVM_EXIT_MMIO: return on_mmio(r);
    case KVM_EXIT_HLT: return on_hlt();
    case KVM_EXIT_DEBUG: return on_debug(r);
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        note("irq_window", 0, "");
        return kGoOn;
    case KVM_EXIT_SHUTDOWN:
        note("shutdown", 0, "");
        return stop_with("the guest shut down (a triple fault)", tenders::kExitGuestNoStatus);
    case KVM_EXIT_FAIL_ENTRY:
        return stop_with(fmt::format("KVM could not enter the guest (hardware reason {:#x})",
                                     r.fail_entry.hardware_entry_failure_reason),
                         tenders::kExitPlatform);
    case KVM_EXIT_INTERNAL_ERROR:
        return stop_with(fmt::format("KVM internal error, suberror {}", r.internal.suberror), tenders::kExitPlatform);
    default: return on_unexpected(r);
    }
}

Outcome Monitor::on_io(kvm_run& r) {
    note("io", r.io.port,
         fmt::format("{:#x} {} {}", r.io.port, r.io.direction == KVM_EXIT_IO_OUT ? "out" : "in", r.io.size));
    std::lock_guard g(device_lock_);
    if (interrupts_->port_exit(vcpu_)) return kGoOn;
    return device_exits_.io(r);
}

Outcome Monitor::on_mmio(kvm_run& r) {
    note("mmio", r.mmio.phys_addr,
         fmt::format("{:#x} {} {}", r.mmio.phys_addr, r.mmio.is_write ? "write" : "read", r.mmio.len));
    device_exits_.mmio(r);
    return kGoOn;
}

Outcome Monitor::on_hlt() {
    note("hlt", 0, "");
    {
        std::unique_lock l(device_lock_);
        if (interrupts_->wait_halted(vcpu_, l)) return kGoOn;
    }
    return stop_with("the guest halted with nothing to wake it", tenders::kExitGuestNoStatus);
}

// A single step, with --count-instructions.
Outcome Monitor::on_debug(kvm_run& r) {
    if (o_.count_instructions == Count::Off) return on_unexpected(r);
    stepped_ = true;
    ++instructions_;
    if (r.debug.arch.pc >= layout::kVmmHoleBase && r.debug.arch.pc < layout::kVmmHoleEnd) ++instructions_in_vmm_;
    return kGoOn;
}

Outcome Monitor::on_unexpected(kvm_run& r) {
    return stop_with(fmt::format("unexpected exit reason {}", r.exit_reason), tenders::kExitPlatform);
}

Outcome Monitor::stop_with(const std::string& why, int status) {
    std::cerr << "previrt-vmm: " << why << "\n" << register_dump(vcpu_);
    return status;
}

// An exit counted for --stats, and written for --trace-exits.
void Monitor::note(const char* kind, uint64_t where, const std::string& detail) {
    stats_.count(kind, where);
    if (trace_)
        std::fprintf(trace_.get(), "%#llx %s %s\n", static_cast<unsigned long long>(vcpu_.regs().rip), kind,
                     detail.c_str());
}

// The guest's POST codes mark windows, counted for --stats (and stepped
// through with --count-instructions=windows).
void Monitor::on_post(uint8_t code) {
    windows_.mark(code, stats_.total(), instructions_, instructions_in_vmm_);
    if (o_.count_instructions == Count::Windows) vcpu_.set_single_step(windows_.open());
}

void Monitor::transmit(uint8_t byte) {
    std::fputc(byte, serial_.get());
    if (byte == '\n') std::fflush(serial_.get());
}

void Monitor::console_byte(uint8_t byte) {
    std::lock_guard g(device_lock_);
    interrupts_->receive(byte, uart_);
    if (interrupts_->needs_kick()) pthread_kill(vcpu_thread_, kKickSignal);  // the vCPU may be halted
}

// The threads stopped, then the interrupt model (the in-place VMM's console
// thread, and what the guest wrote last); returns the model's counts.
std::string Monitor::stop() {
    kick_run = nullptr;
    watchdog_.reset();
    console_input_.reset();
    std::string model_stats = interrupts_->stats();
    interrupts_.reset();
    std::fflush(serial_.get());
    return model_stats;
}

void Monitor::report(const std::string& model_stats) const {
    if (o_.stats) {
        std::cerr << "previrt-vmm: " << stats_.summary();
        std::istringstream lines(windows_.summary(o_.count_instructions != Count::Off));
        for (std::string line; std::getline(lines, line);) std::cerr << "previrt-vmm: " << line << "\n";
    }
    if (o_.count_instructions == Count::All)
        std::cerr << fmt::format("previrt-vmm: {} guest instructions, {} of them in the in-place VMM\n", instructions_,
                                 instructions_in_vmm_);
    if (o_.stats && !model_stats.empty()) std::cerr << "previrt-vmm: " << model_stats;
}

}  // namespace

int run(const tenders::RunOptions& o) {
    try {
        Monitor monitor(o);
        return monitor.run();
    } catch (const StartError& e) {
        std::cerr << "previrt-vmm: " << e.what() << "\n";
        return e.status();
    }
}

}  // namespace previrt::kvm
