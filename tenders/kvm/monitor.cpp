#include "tenders/kvm/monitor.h"

#include <cpuid.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "devices/cmos_rtc.h"
#include "devices/pc_board.h"
#include "devices/exit_port.h"
#include "devices/pci_host.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/port_bus.h"
#include "devices/post_port.h"
#include "devices/uart16550.h"
#include "elf/elf_file.h"
#include "tenders/kvm/exit_stats.h"
#include "x86/control.h"
#include "tenders/kvm/in_place.h"
#include "tenders/kvm/interrupt_model.h"
#include "tenders/kvm/irqchip.h"
#include "tenders/kvm/kvm.h"
#include "tenders/loader/guest_loader.h"
#include "previrt/guest_layout.h"
#include "previrt/paravirt.h"
#include "vmm/kvm/channel.h"
#include "vmm/sites/site_check.h"

namespace previrt::kvm {
namespace {

constexpr uint32_t kIrqCom1 = 4;

std::atomic<bool> timed_out;
// The kick (SIGUSR1): ends a KVM_RUN in progress, and, through immediate_exit,
// one that is about to start, so that no kick is lost between a check and the run.
kvm_run* volatile kick_run = nullptr;
void on_kick(int) {
    if (kick_run) kick_run->immediate_exit = 1;
}

// Guest RAM: anonymous memory, unmapped when the run ends.
class GuestMemory {
public:
    explicit GuestMemory(uint64_t size) : size_(size) {
        void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) throw KvmError("mmap of guest memory", errno);
        base_ = static_cast<uint8_t*>(p);
    }
    ~GuestMemory() { munmap(base_, size_); }
    std::span<uint8_t> span() { return {base_, size_}; }

private:
    uint8_t* base_;
    uint64_t size_;
};

// Long mode at CPL 0, as the 64-bit entry protocol asks (Intel SDM Vol. 3A, 9.8.5).
void enter_long_mode(Vcpu& vcpu, const loader::BootState& boot) {
    kvm_sregs s = vcpu.sregs();
    kvm_segment code{};
    code.base = 0;
    code.limit = 0xffffffff;
    code.selector = 0x08;
    code.type = 11;  // execute/read, accessed
    code.present = 1;
    code.s = 1;
    code.l = 1;
    code.g = 1;
    kvm_segment data = code;
    data.selector = 0x10;
    data.type = 3;  // read/write, accessed
    data.l = 0;
    data.db = 1;
    s.cs = code;
    s.ds = s.es = s.fs = s.gs = s.ss = data;
    s.cr3 = boot.cr3;
    s.cr4 = x86::kCr4Pae;
    s.cr0 = x86::kCr0Pe | x86::kCr0Mp | x86::kCr0Et | x86::kCr0Ne | x86::kCr0Wp | x86::kCr0Pg;
    s.efer = x86::kEferLme | x86::kEferLma;
    vcpu.set_sregs(s);
    kvm_regs r{};
    r.rip = boot.entry;
    r.rdi = boot.rdi;
    r.rsi = boot.rsi;
    r.rsp = boot.rsp;
    r.rflags = 2;
    vcpu.set_regs(r);
}

std::string register_dump(Vcpu& vcpu) {
    kvm_regs r = vcpu.regs();
    kvm_sregs s = vcpu.sregs();
    return fmt::format(
        "  rip {:016x}  rsp {:016x}  rflags {:016x}\n"
        "  rax {:016x}  rbx {:016x}  rcx {:016x}  rdx {:016x}\n"
        "  rsi {:016x}  rdi {:016x}  rbp {:016x}  r8  {:016x}\n"
        "  cr0 {:016x}  cr2 {:016x}  cr3 {:016x}  cr4 {:016x}  efer {:x}\n"
        "  cs {:04x}  ss {:04x}  idt {:x}/{:x}  gdt {:x}/{:x}\n",
        r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, s.cr0, s.cr2, s.cr3, s.cr4,
        s.efer, s.cs.selector, s.ss.selector, s.idt.base, s.idt.limit, s.gdt.base, s.gdt.limit);
}

}  // namespace

bool host_has_hardware_virtualization() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (!line.starts_with("flags")) continue;
        return line.find(" vmx") != std::string::npos || line.find(" svm") != std::string::npos;
    }
    return false;
}

std::string hypervisor_signature() {
    uint32_t eax, ebx, ecx, edx;
    __cpuid(1, eax, ebx, ecx, edx);
    if (!(ecx & (1u << 31))) return "";  // CPUID.1:ECX.31, set by hypervisors for their guests
    __cpuid(0x4000'0000, eax, ebx, ecx, edx);
    char s[12];
    std::memcpy(s, &ebx, 4);
    std::memcpy(s + 4, &ecx, 4);
    std::memcpy(s + 8, &edx, 4);
    return std::string(s, strnlen(s, sizeof s));
}

int run(const tenders::RunOptions& o) {
    std::unique_ptr<System> system;
    try {
        system = std::make_unique<System>();
    } catch (const KvmError& e) {
        std::cerr << "previrt-vmm: " << e.what() << (e.error() == EACCES ? " (no permission)" : "") << "\n";
        return tenders::kExitNoKvm;
    }
    elf::File image;
    loader::Paravirt paravirt;
    try {
        loader::Image opened = loader::open_image(o.image, loader::Platform::Kvm, pv::kParavirtKvmVersion);
        image = std::move(opened.file);
        paravirt = opened.paravirt;
    } catch (const loader::LoadError& e) {
        std::cerr << "previrt-vmm: " << e.what() << "\n";
        return tenders::kExitBadImage;
    }
    Interrupts interrupt_kind = choose_interrupts(
        o, paravirt, system->check_extension(KVM_CAP_IRQCHIP) && system->check_extension(KVM_CAP_PIT2));
    bool hardware = host_has_hardware_virtualization();
    // QEMU's TCG says who it is (testing/amdv): its AMD-V has the hardware's
    // semantics, but its clock is no silicon's.
    bool tcg = hardware && hypervisor_signature() == "TCGTCGTCGTCG";
    std::cerr << (tcg ? "previrt-vmm: KVM on hardware virtualization (AMD-V emulated by QEMU TCG): the guest runs "
                        "natively on the emulated CPU, whose times say little about silicon\n"
                  : hardware ? "previrt-vmm: KVM on hardware virtualization (VT-x/AMD-V): the guest runs natively\n"
                             : "previrt-vmm: KVM without VT-x/AMD-V on this host: a software hypervisor that emulates "
                               "every guest instruction\n")
              << describe(interrupt_kind, paravirt);

    uint64_t ram_size = o.memory_mib << 20;
    GuestMemory ram(ram_size);
    loader::BootState boot;
    try {
        boot = loader::load_guest(image, ram.span(), o.command_line);
    } catch (const loader::LoadError& e) {
        std::cerr << "previrt-vmm: " << o.image << ": " << e.what() << "\n";
        return tenders::kExitBadImage;
    }

    Vm vm(*system);
    vm.set_memory(0, 0, ram.span().data(), ram_size);
    if (interrupt_kind == Interrupts::InKernel) {
        vm.create_irqchip();
        vm.create_pit();
    }
    Vcpu vcpu(*system, vm, 0);
    std::vector<kvm_cpuid_entry2> cpuid = vcpu.set_supported_cpuid(*system);
    enter_long_mode(vcpu, boot);
    using Count = tenders::RunOptions::Count;
    if (o.count_instructions == Count::All) vcpu.set_single_step(true);
    // With --count-instructions: the guest's instructions, in its own code and in the in-place VMM's.
    uint64_t instructions = 0, instructions_in_vmm = 0;

    // The console: the guest's COM1 to stdout or a file; stdin to its receive side.
    // The files are closed whichever way run() ends (standard output is left open).
    struct CloseFile {
        void operator()(std::FILE* f) const {
            if (f != stdout) std::fclose(f);
        }
    };
    std::unique_ptr<std::FILE, CloseFile> serial_file(o.serial == "stdio" ? stdout : std::fopen(o.serial.c_str(), "wb"));
    std::FILE* serial_out = serial_file.get();
    if (!serial_out) {
        std::cerr << "previrt-vmm: cannot write " << o.serial << "\n";
        return tenders::kExitPlatform;
    }
    // Before any thread starts: an early return must not leave one joinable.
    std::unique_ptr<std::FILE, CloseFile> trace_file(o.trace_exits.empty() ? nullptr : std::fopen(o.trace_exits.c_str(), "w"));
    std::FILE* trace = trace_file.get();
    if (!o.trace_exits.empty() && !trace) {
        std::cerr << "previrt-vmm: cannot write " << o.trace_exits << "\n";
        return tenders::kExitPlatform;
    }
    // Someone may be reading the console as it comes (a prompt ends in no
    // newline): stdio unbuffered, a file flushed at each line.
    if (serial_out == stdout) std::setvbuf(stdout, nullptr, _IONBF, 0);
    // The kick (a signal to the vCPU thread) ends KVM_RUN: installed before
    // anything that may send it (the timers, the console threads).
    struct sigaction sa{};
    sa.sa_handler = on_kick;
    sigaction(SIGUSR1, &sa, nullptr);
    pthread_t vcpu_thread = pthread_self();
    std::mutex device_lock;  // the devices are touched by the vCPU thread and the console thread
    devices::PortBus bus;
    std::unique_ptr<InterruptModel> interrupts;
    if (interrupt_kind == Interrupts::InPlace) {
        try {
            auto in_place = std::make_unique<InPlace>(vm, image, static_cast<bool>(paravirt), ram.span(),
                                                      loader::kBootPdpt, cpuid, vcpu.tsc_khz(), gettid(), SIGUSR1,
                                                      serial_out);
            std::cerr << in_place->summary();
            interrupts = std::make_unique<InPlaceInterrupts>(std::move(in_place));
        } catch (const vmm::SiteError& e) {
            std::cerr << "previrt-vmm: " << o.image << ": " << e.what() << "\n";
            return tenders::kExitBadImage;
        }
    } else if (interrupt_kind == Interrupts::User) {
        interrupts = std::make_unique<UserIrqchip>(gettid(), SIGUSR1);
    } else {
        interrupts = std::make_unique<KernelIrqchip>(vm);
    }
    devices::Uart16550 uart([&](bool level) { interrupts->set_irq(kIrqCom1, level); },
                            [&](uint8_t byte) {
                                std::fputc(byte, serial_out);
                                if (byte == '\n') std::fflush(serial_out);
                            });
    devices::PciHost pci;
    devices::CmosRtc cmos(ram_size);
    devices::ExitPort exit_port;
    // The board's ports: the interrupt model's (with the in-place VMM, an
    // access that still exits reaches its models through the channel), else
    // previrt-vmm's own; the POST code port is wired below.
    for (const devices::board::PortRange& r : devices::board::kPorts) {
        using devices::board::Device;
        devices::PortDevice* model = interrupts->model(r.device);
        if (!model) switch (r.device) {
        case Device::Com1: model = &uart; break;
        case Device::PciHost: model = &pci; break;
        case Device::Pic:
        case Device::Pit: break;
        case Device::Cmos: model = &cmos; break;
        case Device::ExitPort: model = &exit_port; break;
        case Device::Post:  // below, with the windows it marks
        case Device::None: break;
        }
        if (model) bus.add(r.base, r.count, *model, r.name);
    }

    std::atomic<bool> stopping{false};
    std::thread console;
    if (o.serial == "stdio" || o.console_input) {
        console = std::thread([&] {
            while (!stopping) {
                pollfd p{0, POLLIN, 0};
                if (poll(&p, 1, 100) <= 0) continue;
                uint8_t c;
                if (read(0, &c, 1) != 1) break;
                std::lock_guard g(device_lock);
                interrupts->receive(c, uart);
                if (interrupts->needs_kick()) pthread_kill(vcpu_thread, SIGUSR1);  // the vCPU may be halted
            }
        });
    }

    // --timeout: a kick (a signal to the vCPU thread) ends KVM_RUN.
    timed_out = false;
    std::thread watchdog;
    std::mutex watchdog_lock;
    std::condition_variable watchdog_cv;
    if (o.timeout_seconds) {
        watchdog = std::thread([&] {
            std::unique_lock l(watchdog_lock);
            if (!watchdog_cv.wait_for(l, std::chrono::seconds(o.timeout_seconds), [&] { return stopping.load(); })) {
                timed_out = true;
                vcpu.state().immediate_exit = 1;
                pthread_kill(vcpu_thread, SIGUSR1);
            }
        });
    }

    // Whichever way run() ends from here, an exception from KVM included, the
    // threads are stopped and joined: never a joinable std::thread destroyed.
    struct StopThreads {
        std::atomic<bool>& stopping;
        std::condition_variable& cv;
        std::thread& console;
        std::thread& watchdog;
        ~StopThreads() {
            kick_run = nullptr;  // the vCPU goes with run(); a late kick finds nothing
            stopping = true;
            cv.notify_all();
            if (watchdog.joinable()) watchdog.join();
            if (console.joinable()) console.join();
        }
    } stop_threads{stopping, watchdog_cv, console, watchdog};

    ExitStats stats;
    // The guest's POST codes mark windows, counted for --stats (and stepped
    // through with --count-instructions=windows).
    PostWindows windows;
    auto on_post = [&](uint8_t code) {
        windows.mark(code, stats.total(), instructions, instructions_in_vmm);
        if (o.count_instructions == Count::Windows) vcpu.set_single_step(windows.open());
    };
    devices::PostPort post([&on_post](uint8_t code) { on_post(code); });
    bus.add(devices::PostPort::kPort, 1, post, "post");
    std::set<uint64_t> unknown_reported;
    auto note = [&](const char* kind, uint64_t where, const std::string& detail) {
        stats.count(kind, where);
        if (trace) std::fprintf(trace, "%#llx %s %s\n", static_cast<unsigned long long>(vcpu.regs().rip), kind, detail.c_str());
    };

    int result = tenders::kExitGuestNoStatus;
    kick_run = &vcpu.state();
    // After a single step the devices are left alone (their ticks still come,
    // through a kick): a monitor that ran them on every step would make the
    // instructions it counts its own doing.
    bool stepped = false;
    for (bool running = true; running;) {
        try {
            std::lock_guard g(device_lock);
            if (!stepped) interrupts->before_run(vcpu);
            stepped = false;
        } catch (const ChannelError& e) {
            std::cerr << "previrt-vmm: the guest broke the in-place VMM's channel: " << e.what() << "; stopped\n";
            break;
        }
        bool exited = vcpu.run();
        vcpu.state().immediate_exit = 0;
        try {
            interrupts->after_run();
        } catch (const ChannelError& e) {
            std::cerr << "previrt-vmm: the guest broke the in-place VMM's channel: " << e.what() << "; stopped\n";
            break;
        }
        if (!exited) {
            if (timed_out) {
                std::cerr << "previrt-vmm: the guest ran past --timeout " << o.timeout_seconds << "s; stopped\n"
                          << register_dump(vcpu);
                result = tenders::kExitTimeout;
                break;
            }
            continue;
        }
        kvm_run& r = vcpu.state();
        switch (r.exit_reason) {
        case KVM_EXIT_IO: {
            auto* data = reinterpret_cast<uint8_t*>(&r) + r.io.data_offset;
            bool out = r.io.direction == KVM_EXIT_IO_OUT;
            note("io", r.io.port, fmt::format("{:#x} {} {}", r.io.port, out ? "out" : "in", r.io.size));
            std::lock_guard g(device_lock);
            try {
                if (interrupts->port_exit(vcpu)) break;
            } catch (const ChannelError& e) {
                std::cerr << "previrt-vmm: the guest broke the in-place VMM's channel: " << e.what() << "; stopped\n";
                running = false;
                break;
            }
            for (uint32_t i = 0; i < r.io.count; ++i, data += r.io.size) {
                uint32_t value = 0;
                if (out) {
                    std::memcpy(&value, data, r.io.size);
                    if (!bus.write(r.io.port, r.io.size, value) && unknown_reported.insert(r.io.port).second)
                        std::cerr << fmt::format("previrt-vmm: write to unknown port {:#x} ignored\n", r.io.port);
                } else {
                    if (!bus.read(r.io.port, r.io.size, value)) {
                        value = 0xffffffff;
                        if (unknown_reported.insert(r.io.port).second)
                            std::cerr << fmt::format("previrt-vmm: read of unknown port {:#x}: all ones\n", r.io.port);
                    }
                    std::memcpy(data, &value, r.io.size);
                }
            }
            if (exit_port.status()) {
                result = *exit_port.status();
                running = false;
            }
            break;
        }
        case KVM_EXIT_MMIO: {
            note("mmio", r.mmio.phys_addr, fmt::format("{:#x} {} {}", r.mmio.phys_addr, r.mmio.is_write ? "write" : "read", r.mmio.len));
            if (!r.mmio.is_write) std::memset(r.mmio.data, 0xff, sizeof r.mmio.data);
            if (unknown_reported.insert(r.mmio.phys_addr).second)
                std::cerr << fmt::format("previrt-vmm: {} of unknown MMIO address {:#x}{}\n",
                                         r.mmio.is_write ? "write" : "read", r.mmio.phys_addr,
                                         r.mmio.is_write ? " ignored" : ": all ones");
            break;
        }
        case KVM_EXIT_HLT:
            note("hlt", 0, "");
            try {
                std::unique_lock l(device_lock);
                if (interrupts->wait_halted(vcpu, l)) break;
            } catch (const ChannelError& e) {
                std::cerr << "previrt-vmm: the guest broke the in-place VMM's channel: " << e.what() << "; stopped\n";
                running = false;
                break;
            }
            std::cerr << "previrt-vmm: the guest halted with nothing to wake it\n" << register_dump(vcpu);
            running = false;
            break;
        case KVM_EXIT_DEBUG:
            if (o.count_instructions == Count::Off) goto unexpected;
            stepped = true;
            ++instructions;
            if (r.debug.arch.pc >= layout::kVmmHoleBase && r.debug.arch.pc < layout::kVmmHoleEnd) ++instructions_in_vmm;
            break;
        case KVM_EXIT_IRQ_WINDOW_OPEN:
            note("irq_window", 0, "");
            break;
        case KVM_EXIT_SHUTDOWN:
            note("shutdown", 0, "");
            std::cerr << "previrt-vmm: the guest shut down (a triple fault)\n" << register_dump(vcpu);
            running = false;
            break;
        case KVM_EXIT_FAIL_ENTRY:
            std::cerr << fmt::format("previrt-vmm: KVM could not enter the guest (hardware reason {:#x})\n",
                                     r.fail_entry.hardware_entry_failure_reason)
                      << register_dump(vcpu);
            result = tenders::kExitPlatform;
            running = false;
            break;
        case KVM_EXIT_INTERNAL_ERROR:
            std::cerr << fmt::format("previrt-vmm: KVM internal error, suberror {}\n", r.internal.suberror)
                      << register_dump(vcpu);
            result = tenders::kExitPlatform;
            running = false;
            break;
        default:
        unexpected:
            std::cerr << "previrt-vmm: unexpected exit reason " << r.exit_reason << "\n" << register_dump(vcpu);
            result = tenders::kExitPlatform;
            running = false;
        }
    }

    kick_run = nullptr;
    stopping = true;
    watchdog_cv.notify_all();
    if (watchdog.joinable()) watchdog.join();
    if (console.joinable()) console.join();
    std::string in_place_stats = interrupts->stats();
    interrupts.reset();  // the in-place VMM's console thread, and what the guest wrote last
    std::fflush(serial_out);
    if (o.stats) std::cerr << "previrt-vmm: " << stats.summary();
    if (o.stats) {
        std::istringstream lines(windows.summary(o.count_instructions != Count::Off));
        for (std::string line; std::getline(lines, line);) std::cerr << "previrt-vmm: " << line << "\n";
    }
    if (o.count_instructions == Count::All)
        std::cerr << fmt::format("previrt-vmm: {} guest instructions, {} of them in the in-place VMM\n", instructions,
                                 instructions_in_vmm);
    if (o.stats && !in_place_stats.empty()) std::cerr << "previrt-vmm: " << in_place_stats;
    return result;
}

}  // namespace previrt::kvm
