// The process hypervisor's state for one run, and what its parts share: the
// entries from the guest (kernel_mode.cpp, here), and in tenders/process
// guest user mode (user_mode.cpp), host events (events.cpp, signals.cpp) and
// the set-up (tender.cpp). One guest per process: the signal handlers and the
// entries reach it through `machine`.
#pragma once

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sites/insn_decoder.h"
#include "devices/host_clock.h"
#include "devices/cmos_rtc.h"
#include "devices/exit_port.h"
#include "devices/post_port.h"
#include "devices/pci_host.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/port_bus.h"
#include "devices/uart16550.h"
#include "tenders/host_handles.h"
#include "tenders/run_options.h"
#include "vmm/core/emulator.h"
#include "vmm/core/guest_memory.h"
#include "vmm/core/transitions.h"
#include "tenders/process/tender.h"
#include "vmm/process/hole.h"
#include "vmm/process/site_rewriter.h"
#include "tenders/process/user_space.h"
#include "tenders/process/working_sets.h"

// entry.S, and the state it shares with C++.
extern "C" {
extern previrt::vmm::Vcpu previrt_vcpu;  // the guest's registers while the VMM holds them
extern uint64_t previrt_hot, previrt_vmm_stack_top, previrt_host_fs_base, previrt_pv_op;
void previrt_site_entry();
void previrt_pv_entry();
void previrt_event_entry();
[[noreturn]] void previrt_resume_guest();
extern const char previrt_resume_guest_end[];
void previrt_pending_entry();
// The fast paths, assembled to run at kFastCode (hole.h).
extern const char previrt_hole_code[], previrt_hole_code_end[], previrt_hole_sti[], previrt_hole_pushf[],
    previrt_hole_popf[], previrt_hole_popf_flags_dead[], previrt_hole_ret[];
}

namespace previrt::vmm::process {

inline constexpr unsigned kIrqTimer = 0, kIrqCom1 = 4;
inline constexpr uint64_t kRetryNs = 50'000;  // a signal that came in a fast path is looked at again this soon

inline uint64_t now_ns() { return devices::monotonic_now_ns(); }

enum class Reason : int { None, Trap };

// VMM entries by kind, for --stats. The hot ones are counted in arrays: a
// counter must cost nothing next to the entry it counts.
struct Stats {
    uint64_t sites[256] = {};          // by abi::SiteKind
    uint64_t paravirt[pv::kOpCount] = {};
    uint64_t interrupts[256] = {};     // by vector
    uint64_t system_calls = 0, user_page_faults = 0, user_interrupted = 0;
    std::map<std::string, uint64_t> traps, user;  // the rarer ones, by name
    uint64_t mirror_maps = 0, user_maps = 0;
};

// One run's state. The signal handlers and the entries from the guest reach it
// through `machine`: one guest per process.
struct Machine final : Backend {
    tenders::RunOptions options;
    Mode mode = Mode::Previrtualized;
    tenders::UniqueFd memfd;  // guest RAM
    uint64_t ram_size = 0;
    GuestMemory memory;
    devices::MonotonicClock clock;
    devices::Pic8259Pair pic{[](bool) {}};
    devices::Pit8254 pit{[this](bool level) { pic.set_irq(kIrqTimer, level); }, clock};
    devices::Uart16550 uart{[this](bool level) { pic.set_irq(kIrqCom1, level); },
                            [this](uint8_t byte) { serial_out(byte); }};
    devices::PciHost pci;
    std::unique_ptr<devices::CmosRtc> cmos;
    devices::ExitPort exit_port;
    devices::PostPort post;
    devices::PortBus bus;
    std::set<uint16_t> unknown_ports;
    std::set<uint64_t> unknown_device_memory;
    tenders::UniqueFile trace;  // --trace-exits: a line per trap, the format `previrt annotate` reads
    std::unique_ptr<UserSpace> user;
    RewriteResult sites;
    sites::InsnDecoder decoder;
    std::string serial;
    int serial_fd = 1;          // standard output, or serial_file
    tenders::UniqueFd serial_file;  // --serial FILE
    bool console_input = false;
    timer_t timer{};
    uint64_t deadline = UINT64_MAX;  // --timeout
    bool mirror_dirty = false;
    WorkingSets working_sets;         // pages guest user mode touched, by address space
    WorkingSets kernel_working_sets;  // user pages the guest kernel touched, by address space
    uint64_t last_user_fault = 0;
    unsigned repeated_user_faults = 0;
    Stats stats;
    sigjmp_buf done;
    int status = tenders::kExitGuestNoStatus;

    volatile sig_atomic_t user_running = 0;
    volatile sig_atomic_t reason = 0;
    volatile int trap_signal = 0, trap_code = 0;
    volatile uint64_t trap_address = 0;
    volatile uint64_t trap_syscall = 0;

    uint32_t port_read(uint16_t port, unsigned size) override {
        uint32_t v;
        if (!bus.read(port, size, v)) {
            v = 0xffffffff;
            if (unknown_ports.insert(port).second)
                std::cerr << fmt::format("previrt-process: read of unknown port {:#x}: all ones\n", port);
        }
        return v;
    }
    void port_write(uint16_t port, unsigned size, uint32_t value) override {
        if (!bus.write(port, size, value) && unknown_ports.insert(port).second)
            std::cerr << fmt::format("previrt-process: write to unknown port {:#x} ignored\n", port);
    }
    void flush_translations() override;
    void flush_translation(uint64_t va) override {
        va &= ~0xfffull;
        if (va < layout::kUserBase || va >= layout::kUserEnd) return;
        mmap(reinterpret_cast<void*>(va), 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
             -1, 0);
        if (user) user->unmap(va);
        working_sets.forget(previrt_vcpu.cr3 & kCr3AddressMask, va);
        kernel_working_sets.forget(previrt_vcpu.cr3 & kCr3AddressMask, va);
    }

    // The guest kernel's view of a user page, in this process.
    void mirror_map(uint64_t va, uint64_t pa, bool writable) {
        mmap(reinterpret_cast<void*>(va & ~0xfffull), 4096, PROT_READ | (writable ? PROT_WRITE : 0),
             MAP_SHARED | MAP_FIXED, memfd.get(), off_t(pa & ~0xfffull));
        mirror_dirty = true;
        ++stats.mirror_maps;
    }

    void serial_out(uint8_t byte) {
        serial.push_back(static_cast<char>(byte));
        if (byte == '\n' || serial.size() >= 4096) flush_serial();
    }
    void flush_serial() {
        for (size_t at = 0; at < serial.size();) {
            ssize_t n = write(serial_fd, serial.data() + at, serial.size() - at);
            if (n <= 0) break;
            at += size_t(n);
        }
        serial.clear();
    }
};

extern Machine* machine;
extern Vcpu& vcpu;

inline HotPage& hot_page() { return *hot(); }

// Where a fast path's code runs in the hole.
inline uint64_t in_hole(const char* fast_path) { return kFastCode + uint64_t(fast_path - previrt_hole_code); }

// A host event waits (or no longer does): the byte the resume and the
// para-virtual guest look at, and the continuation of the fast paths.
inline void set_pending(bool on) {
    hot_page().pending = on;
    hot_page().continuation = on ? thunk_address(Thunk::Pending) : in_hole(previrt_hole_ret);
}

// Where a signal found the thread.
inline bool in_guest(uint64_t rip) { return rip < layout::kVmmHoleBase; }
inline bool in_fast_path(uint64_t rip) { return rip >= kThunkPage && rip < kThunkPage + 4096; }
inline bool in_resume(uint64_t rip) {
    return rip >= uint64_t(&previrt_resume_guest) && rip <= uint64_t(previrt_resume_guest_end);
}

// events.cpp
std::string register_dump();
[[noreturn]] void finish(int status, const std::string& message = {});
[[noreturn]] void fatal(int status, const std::string& message);
void arm_timer(uint64_t at);
void rearm_timer();
void sync_in();
void deliver_event(Event e);
bool deliver_interrupt();
bool service_events(bool deliver_now = true);
void check_exit_port();
void idle();

// user_mode.cpp
bool decode_at(uint64_t rip, DecodedInstruction& d, bool& fetch_faulted);
Access access_of_fault(uint64_t address);
void run_user_once();

// kernel_mode.cpp
void trace_trap(uint64_t rip, const char* kind, const std::string& detail);
[[noreturn]] void continue_guest();
void complete(const Emulation& e, uint64_t natural_next, uint64_t resume_at, const char* what);
void handle_trap();

// signals.cpp
struct SavedSignals {
    struct sigaction old[NSIG];
    std::vector<int> signals;
    ~SavedSignals();
};
void install_signals(SavedSignals& saved, void* altstack, size_t altstack_size);

}  // namespace previrt::vmm::process
