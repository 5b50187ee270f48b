#include "tenders/process/tender.h"

#include "vmm/process/machine.h"

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstddef>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "sites/insn_decoder.h"
#include "devices/clock.h"
#include "devices/cmos_rtc.h"
#include "devices/exit_port.h"
#include "devices/pc_board.h"
#include "devices/pci_host.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/port_bus.h"
#include "devices/uart16550.h"
#include "elf/elf_file.h"
#include "tenders/loader/guest_loader.h"
#include "previrt/guest_layout.h"
#include "vmm/core/emulator.h"
#include "vmm/core/guest_memory.h"
#include "vmm/core/transitions.h"
#include "vmm/process/hole.h"
#include "tenders/process/host_filter.h"
#include "vmm/process/paravirt.h"
#include "vmm/process/site_rewriter.h"
#include "tenders/process/user_space.h"
#include "tenders/process/working_sets.h"

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

// ---- setup -----------------------------------------------------------------------

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


}  // namespace


int run(const tenders::RunOptions& o, Mode mode) {
    if (!(getauxval(AT_HWCAP2) & 2)) {  // HWCAP2_FSGSBASE
        std::cerr << "previrt-process: this host's kernel does not let user space write the GS base (FSGSBASE)\n";
        return tenders::kExitPlatform;
    }
    loader::Image opened;
    try {
        opened = loader::open_image(o.image, loader::Platform::Process, pv::kParavirtVersion);
    } catch (const loader::LoadError& e) {
        std::cerr << "previrt-process: " << e.what() << "\n";
        return tenders::kExitBadImage;
    }
    const elf::File& image = opened.file;

    // The guest's addresses, from user space to the end of the hole, must be
    // free in this process; reserve them all first.
    void* reserved = mmap(reinterpret_cast<void*>(layout::kUserBase), layout::kVmmHoleEnd - layout::kUserBase, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (reserved == MAP_FAILED) {
        std::cerr << "previrt-process: this process already uses the guest's address range "
                  << fmt::format("[{:#x}, {:#x})\n", layout::kUserBase, layout::kVmmHoleEnd);
        return tenders::kExitPlatform;
    }
    struct Unreserve {
        ~Unreserve() { munmap(reinterpret_cast<void*>(layout::kUserBase), layout::kVmmHoleEnd - layout::kUserBase); }
    } unreserve;

    auto m = std::make_unique<Machine>();
    machine = m.get();
    m->options = o;
    m->mode = mode;
    m->ram_size = o.memory_mib << 20;
    m->memfd = memfd_create("previrt-guest-ram", MFD_CLOEXEC);
    if (m->memfd < 0 || ftruncate(m->memfd, off_t(m->ram_size)) != 0) {
        std::cerr << "previrt-process: cannot create guest memory: " << strerror(errno) << "\n";
        return tenders::kExitPlatform;
    }
    auto* ram = static_cast<uint8_t*>(mmap(reinterpret_cast<void*>(layout::kKernelBase), m->ram_size,
                                           PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_FIXED, m->memfd, 0));
    if (ram == MAP_FAILED) {
        std::cerr << "previrt-process: cannot map guest memory: " << strerror(errno) << "\n";
        return tenders::kExitPlatform;
    }
    m->memory = GuestMemory(ram, m->ram_size);
    loader::BootState boot;
    uint32_t paravirt = 0;
    try {
        paravirt = opened.paravirt.version;
        boot = loader::load_guest(image, {ram, m->ram_size}, o.command_line);
        m->sites = rewrite_sites(image, ram, layout::kKernelBase, m->ram_size, mode == Mode::Previrtualized);
    } catch (const std::exception& e) {
        std::cerr << "previrt-process: " << o.image << ": " << e.what() << "\n";
        close(m->memfd);
        return tenders::kExitBadImage;
    }
    if (paravirt)
        std::cerr << fmt::format("previrt-process: para-virtualized guest (interface version {}): it calls the "
                                 "hypervisor directly\n", paravirt);
    else if (mode == Mode::Previrtualized && m->sites.total == 0)
        std::cerr << "previrt-process: warning: " << o.image
                  << " has no site records (not built through the afterburner); it runs pure\n";
    else
        std::cerr << (mode == Mode::Pure ? "previrt-process: pure virtualization: every privileged instruction traps\n"
                                         : fmt::format("previrt-process: pre-virtualized: {} of {} sites rewritten\n",
                                                       m->sites.rewritten, m->sites.total));
    if (o.stats) std::cerr << m->sites.summary;

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

    std::string error;
    m->user = UserSpace::start(m->memfd, m->ram_size, layout::kUserBase, layout::kUserEnd, error);
    if (!m->user) {
        std::cerr << "previrt-process: cannot start the host process for guest user mode: " << error << "\n";
        return tenders::kExitPlatform;
    }

    if (o.serial != "stdio") {
        m->serial_fd = open(o.serial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (m->serial_fd < 0) {
            std::cerr << "previrt-process: cannot write " << o.serial << "\n";
            return tenders::kExitPlatform;
        }
    }
    if (!o.trace_exits.empty() && !(m->trace = std::fopen(o.trace_exits.c_str(), "w"))) {
        std::cerr << "previrt-process: cannot write " << o.trace_exits << "\n";
        return tenders::kExitPlatform;
    }
    m->console_input = o.serial == "stdio" || o.console_input;
    // Console input is a host event like the timer: SIGIO to this thread when
    // stdin becomes readable (a terminal or a pipe). Put back at the end.
    struct ConsoleSignal {
        int old_flags = -1;
        f_owner_ex old_owner{};
        ~ConsoleSignal() {
            if (old_flags < 0) return;
            fcntl(0, F_SETOWN_EX, &old_owner);
            fcntl(0, F_SETFL, old_flags);
        }
    } console_signal;
    if (m->console_input && (console_signal.old_flags = fcntl(0, F_GETFL)) >= 0) {
        f_owner_ex owner{F_OWNER_TID, gettid()};
        fcntl(0, F_GETOWN_EX, &console_signal.old_owner);
        if (fcntl(0, F_SETOWN_EX, &owner) != 0 || fcntl(0, F_SETFL, console_signal.old_flags | O_ASYNC) != 0)
            std::cerr << "previrt-process: stdin gives no SIGIO; console input is looked at with the timer\n";
    }
    m->cmos = std::make_unique<devices::CmosRtc>(m->ram_size);
    auto model = [&m](devices::board::Device device) -> devices::PortDevice* {
        using devices::board::Device;
        switch (device) {
        case Device::Pic: return &m->pic;
        case Device::Pit: return &m->pit;
        case Device::Com1: return &m->uart;
        case Device::PciHost: return &m->pci;
        case Device::Cmos: return m->cmos.get();
        case Device::ExitPort: return &m->exit_port;
        case Device::Post: return &m->post;
        case Device::None: break;
        }
        return nullptr;
    };
    for (const devices::board::PortRange& r : devices::board::kPorts)
        if (devices::PortDevice* d = model(r.device)) m->bus.add(r.base, r.count, *d, r.name);
    if (o.timeout_seconds) m->deadline = now_ns() + uint64_t(o.timeout_seconds) * 1'000'000'000;

    sigevent sev{};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGALRM;
    sev._sigev_un._tid = gettid();
    timer_create(CLOCK_MONOTONIC, &sev, &m->timer);

    asm volatile("rdfsbase %0" : "=r"(previrt_host_fs_base));
    auto vmm_stack = std::make_unique<uint8_t[]>(kVmmStackSize);
    previrt_vmm_stack_top = (reinterpret_cast<uint64_t>(vmm_stack.get()) + kVmmStackSize) & ~0xfull;
    auto altstack = std::make_unique<uint8_t[]>(kSignalStackSize);

    vcpu = Vcpu{};
    vcpu.rip = boot.entry;
    vcpu.gpr[kRdi] = boot.rdi;
    vcpu.gpr[kRsi] = boot.rsi;
    vcpu.gpr[kRsp] = boot.rsp;
    vcpu.cr3 = boot.cr3;
    vcpu.cr0 = x86::kCr0Pe | x86::kCr0Mp | x86::kCr0Et | x86::kCr0Ne | x86::kCr0Wp | x86::kCr0Pg;
    vcpu.cr4 = kCr4Pae;
    vcpu.efer = kEferLme | kEferLma;
    vcpu.sreg[kCs] = 0x08;
    vcpu.sreg[kSs] = vcpu.sreg[kDs] = vcpu.sreg[kEs] = 0x10;

    int result;
    {
        SavedSignals saved;
        install_signals(saved, altstack.get(), kSignalStackSize);
        if (sigsetjmp(m->done, 1) == 0) {
            std::string filter_error;
            if (!install_host_filter(filter_error)) finish(tenders::kExitPlatform, filter_error);
            service_events(false);
            continue_guest();
        }
        timer_delete(m->timer);
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, nullptr);
        result = m->status;
    }
    m->flush_serial();
    if (o.stats) {
        auto line = [](const std::string& title, const std::string& what, uint64_t n) {
            if (n) std::cerr << fmt::format("  {:<12} {:<30} {:>10}\n", title, what, n);
        };
        std::cerr << "previrt-process: VMM entries by kind\n";
        const Stats& st = m->stats;
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
    }
    m->user.reset();
    if (m->trace) std::fclose(m->trace);
    if (m->serial_fd != 1) close(m->serial_fd);
    munmap(ram, m->ram_size);
    close(m->memfd);
    machine = nullptr;
    return result;
}

}  // namespace previrt::vmm::process
