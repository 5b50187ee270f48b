#include "tenders/process/tender.h"
#include "tenders/process/setup.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstddef>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "devices/cmos_rtc.h"
#include "devices/pc_board.h"
#include "elf/elf_file.h"
#include "previrt/guest_layout.h"
#include "previrt/paravirt.h"
#include "sites/catalogue.h"
#include "tenders/loader/guest_loader.h"
#include "tenders/process/host_filter.h"
#include "tenders/process/user_space.h"
#include "vmm/process/hole.h"
#include "vmm/process/paravirt.h"
#include "vmm/process/site_rewriter.h"

using previrt::vmm::Vcpu;

extern "C" {
Vcpu previrt_vcpu;
uint64_t previrt_hot = previrt::vmm::process::kHotPage;
uint64_t previrt_vmm_stack_top;
uint64_t previrt_host_fs_base;
uint64_t previrt_pv_op;
}

static_assert(offsetof(Vcpu, gpr) == 0 && offsetof(Vcpu, rip) == 128 && offsetof(Vcpu, rflags) == 136,
              "entry.S reads the registers at these offsets");

namespace previrt::vmm::process {

Machine* machine;
Vcpu& vcpu = previrt_vcpu;

namespace {

constexpr size_t kVmmStackSize = 256 * 1024;
constexpr size_t kSignalStackSize = 64 * 1024;

using tenders::StartError;

void check_host() {
    if (!(getauxval(AT_HWCAP2) & 2))  // HWCAP2_FSGSBASE
        throw StartError(tenders::kExitPlatform, "this host's kernel does not let user space write the GS base (FSGSBASE)");
}

// The guest's addresses, from user space to the end of the hole, reserved in
// this process before anything is mapped there; all of it, guest RAM and the
// hole included, is unmapped when the run ends.
class GuestRange {
public:
    GuestRange() {
        void* p = mmap(reinterpret_cast<void*>(layout::kUserBase), kSize, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED)
            throw StartError(tenders::kExitPlatform,
                             fmt::format("this process already uses the guest's address range [{:#x}, {:#x})",
                                         layout::kUserBase, layout::kVmmHoleEnd));
    }
    ~GuestRange() { munmap(reinterpret_cast<void*>(layout::kUserBase), kSize); }
    GuestRange(const GuestRange&) = delete;
    GuestRange& operator=(const GuestRange&) = delete;

private:
    static constexpr uint64_t kSize = layout::kVmmHoleEnd - layout::kUserBase;
};

// The one run's Machine, which the signal handlers and entries reach through
// `machine` while it lives.
class MachineScope {
public:
    MachineScope() : m_(std::make_unique<Machine>()) { machine = m_.get(); }
    ~MachineScope() {
        m_.reset();
        machine = nullptr;
    }
    MachineScope(const MachineScope&) = delete;
    MachineScope& operator=(const MachineScope&) = delete;
    Machine& operator*() const { return *m_; }

private:
    std::unique_ptr<Machine> m_;
};

// Guest RAM: a memfd (the user-mode child maps the same pages) mapped as the kernel window.
uint8_t* map_guest_ram(Machine& m) {
    m.memfd.reset(memfd_create("previrt-guest-ram", MFD_CLOEXEC));
    if (!m.memfd || ftruncate(m.memfd.get(), off_t(m.ram_size)) != 0)
        throw StartError(tenders::kExitPlatform, std::string("cannot create guest memory: ") + strerror(errno));
    void* ram = mmap(reinterpret_cast<void*>(layout::kKernelBase), m.ram_size, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_SHARED | MAP_FIXED, m.memfd.get(), 0);
    if (ram == MAP_FAILED)
        throw StartError(tenders::kExitPlatform, std::string("cannot map guest memory: ") + strerror(errno));
    m.memory = GuestMemory(static_cast<uint8_t*>(ram), m.ram_size);
    return static_cast<uint8_t*>(ram);
}

// The image into guest RAM, its sites checked (and rewritten, pre-virtualized).
loader::BootState load(Machine& m, const elf::File& image, uint8_t* ram) {
    try {
        loader::BootState boot = loader::load_guest(image, {ram, m.ram_size}, m.options.command_line);
        m.sites = rewrite_sites(image, ram, layout::kKernelBase, m.ram_size, m.mode == Mode::Previrtualized);
        return boot;
    } catch (const std::exception& e) {
        throw StartError(tenders::kExitBadImage, m.options.image + ": " + e.what());
    }
}

void write_thunk(Thunk t, void (*target)()) {
    // jmp *8(%rip): FF 25 disp32 (Intel SDM Vol. 2A, JMP: FF /4), the target in the slot after it.
    auto* p = reinterpret_cast<uint8_t*>(thunk_address(t));
    p[0] = 0xff;
    p[1] = 0x25;
    int32_t disp = 2;
    std::memcpy(p + 2, &disp, 4);
    p[6] = p[7] = 0xcc;
    uint64_t a = reinterpret_cast<uint64_t>(target);
    std::memcpy(p + 8, &a, 8);
}

// The hole's code (hole.h): the thunks, the fast paths, the para-virtual entries.
void set_up_hole() {
    mmap(reinterpret_cast<void*>(kThunkPage), kHoleMapped, PROT_READ | PROT_WRITE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    size_t fast_size = size_t(previrt_hole_code_end - previrt_hole_code);
    if (fast_size > pv::kEntryBase - kFastCode) throw std::logic_error("the fast paths outgrew their room in the hole");
    std::memcpy(reinterpret_cast<void*>(kFastCode), previrt_hole_code, fast_size);
    write_thunk(Thunk::Generic, previrt_site_entry);
    write_thunk(Thunk::Pending, previrt_pending_entry);
    if (in_hole(previrt_hole_sti) != fast_path_address(FastPath::Sti) ||
        in_hole(previrt_hole_pushf) != fast_path_address(FastPath::Pushf) ||
        in_hole(previrt_hole_popf) != fast_path_address(FastPath::Popf) ||
        in_hole(previrt_hole_popf_flags_dead) != fast_path_address(FastPath::PopfFlagsDead) ||
        in_hole(previrt_hole_ret) != fast_path_address(FastPath::Ret))
        throw std::logic_error("the fast paths are not where hole.h says");
    write_paravirt_entries(previrt_pv_entry);
    mprotect(reinterpret_cast<void*>(kThunkPage), 4096, PROT_READ | PROT_EXEC);
    hot_page() = {};
    set_pending(false);
}

void start_user_space(Machine& m) {
    std::string error;
    m.user = UserSpace::start(m.memfd.get(), m.ram_size, layout::kUserBase, layout::kUserEnd, error);
    if (!m.user) throw StartError(tenders::kExitPlatform, "cannot start the host process for guest user mode: " + error);
}

// --serial FILE and --trace-exits FILE.
void open_files(Machine& m) {
    const tenders::RunOptions& o = m.options;
    if (o.serial != "stdio") {
        m.serial_file.reset(open(o.serial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!m.serial_file) throw StartError(tenders::kExitPlatform, "cannot write " + o.serial);
        m.serial_fd = m.serial_file.get();
    }
    if (!o.trace_exits.empty()) {
        m.trace.reset(std::fopen(o.trace_exits.c_str(), "w"));
        if (!m.trace) throw StartError(tenders::kExitPlatform, "cannot write " + o.trace_exits);
    }
}

// Console input is a host event like the timer: SIGIO to this thread when
// stdin becomes readable (a terminal or a pipe). Put back at the end.
class ConsoleSignal {
public:
    explicit ConsoleSignal(bool wanted) {
        if (!wanted || (old_flags_ = fcntl(0, F_GETFL)) < 0) return;
        f_owner_ex owner{F_OWNER_TID, gettid()};
        fcntl(0, F_GETOWN_EX, &old_owner_);
        if (fcntl(0, F_SETOWN_EX, &owner) != 0 || fcntl(0, F_SETFL, old_flags_ | O_ASYNC) != 0)
            std::cerr << "previrt-process: stdin gives no SIGIO; console input is looked at with the timer\n";
    }
    ~ConsoleSignal() {
        if (old_flags_ < 0) return;
        fcntl(0, F_SETOWN_EX, &old_owner_);
        fcntl(0, F_SETFL, old_flags_);
    }
    ConsoleSignal(const ConsoleSignal&) = delete;
    ConsoleSignal& operator=(const ConsoleSignal&) = delete;

private:
    int old_flags_ = -1;
    f_owner_ex old_owner_{};
};

// The PIT's host timer: SIGALRM to this thread.
class HostTimer {
public:
    explicit HostTimer(timer_t& timer) : timer_(timer) {
        sigevent sev{};
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = SIGALRM;
        sev._sigev_un._tid = gettid();
        if (timer_create(CLOCK_MONOTONIC, &sev, &timer_) != 0)
            throw StartError(tenders::kExitPlatform, std::string("cannot create the host timer: ") + strerror(errno));
    }
    ~HostTimer() { timer_delete(timer_); }
    HostTimer(const HostTimer&) = delete;
    HostTimer& operator=(const HostTimer&) = delete;

private:
    timer_t& timer_;
};

// The guest's registers at its 64-bit entry: long mode at CPL 0.
void boot_vcpu(const loader::BootState& boot) {
    vcpu = Vcpu{};
    vcpu.rip = boot.entry;
    vcpu.gpr[kRdi] = boot.rdi;
    vcpu.gpr[kRsi] = boot.rsi;
    vcpu.gpr[kRsp] = boot.rsp;
    vcpu.cr3 = boot.cr3;
    vcpu.cr0 = loader::kBootCr0;
    vcpu.cr4 = loader::kBootCr4;
    vcpu.efer = loader::kBootEfer;
    vcpu.sreg[kCs] = loader::kBootCodeSelector;
    vcpu.sreg[kSs] = vcpu.sreg[kDs] = vcpu.sreg[kEs] = loader::kBootDataSelector;
}

// Runs the guest until finish() or fatal() jumps back here; returns its status.
int run_guest(Machine& m) {
    asm volatile("rdfsbase %0" : "=r"(previrt_host_fs_base));
    auto vmm_stack = std::make_unique<uint8_t[]>(kVmmStackSize);
    previrt_vmm_stack_top = (reinterpret_cast<uint64_t>(vmm_stack.get()) + kVmmStackSize) & ~0xfull;
    auto altstack = std::make_unique<uint8_t[]>(kSignalStackSize);
    {
        SavedSignals saved;
        install_signals(saved, altstack.get(), kSignalStackSize);
        if (sigsetjmp(m.done, 1) == 0) {
            std::string filter_error;
            if (!install_host_filter(filter_error)) finish(tenders::kExitPlatform, filter_error);
            service_events(false);
            continue_guest();
        }
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, nullptr);
    }
    return m.status;
}

// Set-up, run and the end: what run() does once the host and the image passed.
int run_machine(Machine& m, const loader::Image& opened) {
    uint8_t* ram = map_guest_ram(m);
    loader::BootState boot = load(m, opened.file, ram);
    std::cerr << describe_mode(opened.paravirt.version, m.mode, m.sites, m.options.image);
    if (m.options.stats) std::cerr << m.sites.summary;
    set_up_hole();
    start_user_space(m);
    open_files(m);
    m.console_input = m.options.serial == "stdio" || m.options.console_input;
    ConsoleSignal console_signal(m.console_input);
    wire_board(m);
    if (m.options.timeout_seconds) m.deadline = now_ns() + uint64_t(m.options.timeout_seconds) * 1'000'000'000;
    int result;
    {
        HostTimer timer(m.timer);
        boot_vcpu(boot);
        result = run_guest(m);
    }
    m.flush_serial();
    if (m.options.stats) std::cerr << stats_report(m.stats);
    return result;
}

}  // namespace

std::string describe_mode(uint32_t paravirt, Mode mode, const RewriteResult& sites, const std::string& image) {
    if (paravirt)
        return fmt::format("previrt-process: para-virtualized guest (interface version {}): it calls the "
                           "hypervisor directly\n", paravirt);
    if (mode == Mode::Pure) return "previrt-process: pure virtualization: every privileged instruction traps\n";
    if (sites.total == 0)
        return "previrt-process: warning: " + image + " has no site records (not built through the afterburner); it runs pure\n";
    return fmt::format("previrt-process: pre-virtualized: {} of {} sites rewritten\n", sites.rewritten, sites.total);
}

void wire_board(Machine& m) {
    m.cmos = std::make_unique<devices::CmosRtc>(m.ram_size);
    auto model = [&m](devices::board::Device device) -> devices::PortDevice* {
        using devices::board::Device;
        switch (device) {
        case Device::Pic: return &m.pic;
        case Device::Pit: return &m.pit;
        case Device::Com1: return &m.uart;
        case Device::PciHost: return &m.pci;
        case Device::Cmos: return m.cmos.get();
        case Device::ExitPort: return &m.exit_port;
        case Device::Post: return &m.post;
        case Device::None: break;
        }
        return nullptr;
    };
    for (const devices::board::PortRange& r : devices::board::kPorts)
        if (devices::PortDevice* d = model(r.device)) m.bus.add(r.base, r.count, *d, r.name);
}

std::string stats_report(const Stats& st) {
    std::string out = "previrt-process: VMM entries by kind\n";
    auto line = [&out](const std::string& title, const std::string& what, uint64_t n) {
        if (n) out += fmt::format("  {:<12} {:<30} {:>10}\n", title, what, n);
    };
    for (unsigned k = 0; k < 256; ++k) line("site", std::string(sites::kind_name(uint8_t(k))), st.sites[k]);
    for (unsigned op = 0; op < pv::kOpCount; ++op) line("paravirt", paravirt_op_name(op), st.paravirt[op]);
    for (const auto& [what, n] : st.traps) line("trap", what, n);
    line("user", "system call", st.system_calls);
    line("user", "page fault", st.user_page_faults);
    line("user", "interrupted", st.user_interrupted);
    for (const auto& [what, n] : st.user) line("user", what, n);
    for (unsigned v = 0; v < 256; ++v) line("interrupt", fmt::format("vector {:#x}", v), st.interrupts[v]);
    line("memory", "kernel mirror maps", st.mirror_maps);
    line("memory", "user maps", st.user_maps);
    return out;
}

int run(const tenders::RunOptions& o, Mode mode) {
    try {
        check_host();
        loader::Image opened;
        try {
            opened = loader::open_image(o.image, loader::Platform::Process, pv::kParavirtVersion);
        } catch (const loader::LoadError& e) {
            throw StartError(tenders::kExitBadImage, e.what());
        }
        GuestRange range;
        MachineScope m;
        (*m).options = o;
        (*m).mode = mode;
        (*m).ram_size = o.memory_mib << 20;
        return run_machine(*m, opened);
    } catch (const StartError& e) {
        std::cerr << "previrt-process: " << e.what() << "\n";
        return e.status();
    }
}

}  // namespace previrt::vmm::process
