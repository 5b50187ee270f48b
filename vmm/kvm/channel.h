// What the in-place VMM inside the guest and previrt-vmm outside it share:
// the channel page (at hole.h's kChannel) and the site table. Everything in
// it is guest memory, which a hostile guest may scribble on: the monitor
// validates what it reads (ring indices, counts) and takes the device states
// through the models' restore(), which accepts any bytes. Documented in
// docs/in-place-vmm.md.
//
// The devices (PIC pair, PIT, COM1, the PCI host) live here as their models'
// saved states, handed back and forth: the VMM runs the models on them for
// the guest's port accesses; the monitor, while the vCPU is stopped outside
// the VMM, runs the same models on them to deliver the timer's ticks and the
// console's bytes, to take the interrupt it injects, and for a port access
// that still exits (an instruction no site covers): one device state,
// whichever way an access arrives. One vCPU, so the two
// never run at once; `busy` says the vCPU stopped inside the VMM, where the
// states may be half-written, unless it stopped at a doorbell rung after the
// VMM saved them (all but kConsoleFull).
//
// Freestanding.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "devices/pci_host.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/uart16550.h"
#include "vmm/core/emulator.h"
#include "vmm/kvm/hole.h"

namespace previrt::vmm::kvm {

inline constexpr uint32_t kMagic = 0x4b50'5643;  // "CVPK"
inline constexpr uint32_t kVersion = 2;

// The doorbells: ports nothing on the PC answers. A write to kDoorbellPort is
// an exit to the monitor, which looks at the channel before the VMM goes on
// (its value says why, a Doorbell); kConsolePort is a KVM ioeventfd, which
// completes in the kernel and only wakes the monitor's console thread.
inline constexpr uint16_t kDoorbellPort = 0x5f0;
inline constexpr uint16_t kConsolePort = 0x5f4;
enum Doorbell : uint8_t {
    kHello = 1,        // first entry: the clock's origin is set
    kInterrupt = 2,    // the PIC asserts INT: inject when the guest can take it
    kConsoleFull = 3,  // the console ring is full: drain it now
    kTimer = 4,        // the guest programmed the PIT: re-arm the host timer
    kBadCall = 5,      // the guest entered the VMM with what no site or para-virtual entry pushes: stop it
};

// What the para-virtual entries (abi/previrt/paravirt.h) push where a
// rewritten site's stub pushes the site's index: kParavirtCall + the operation.
inline constexpr uint64_t kParavirtCall = 0x7fff'0000;

// What a rewritten site asks of the VMM.
enum class SiteAction : uint8_t {
    Emulate = 1,   // port I/O of another form: the core's emulator, the devices in place
    Cpuid = 2,     // answered from the table KVM was given
    WriteCr3 = 3,  // mov to CR3: the hole put into the new root, then the load
    PortIn = 4,    // in al/ax/eax, imm8 or dx: decoded at load time, the devices in place
    PortOut = 5,   // out imm8 or dx, al/ax/eax: likewise
};

struct SiteEntry {
    uint64_t address;       // the site's guest-virtual address
    uint8_t site_length;    // instruction and NOPs: where the guest goes on
    SiteAction action;
    uint8_t reg;            // WriteCr3: the source register (Vcpu::gpr index)
    uint8_t size;           // PortIn, PortOut: 1, 2 or 4 bytes
    uint16_t port;          // PortIn, PortOut: the port, unless kPortInDx
    uint8_t reserved[2];
    DecodedInstruction insn;
};
inline constexpr uint16_t kPortInDx = 0xffff;  // the port is the guest's dx (0xffff itself is never an immediate)

struct CpuidEntry {
    uint32_t function, index;
    uint32_t significant_index;  // 1: the entry is for this index only
    uint32_t eax, ebx, ecx, edx;
    uint32_t reserved;
};
inline constexpr unsigned kMaxCpuid = 80;

// Console output: a single-producer (the VMM), single-consumer (the
// monitor) ring of bytes; head and tail count bytes ever written and read.
inline constexpr uint32_t kConsoleSize = 16384;
static_assert((kConsoleSize & (kConsoleSize - 1)) == 0);
struct ConsoleRing {
    uint32_t head;
    uint32_t tail;
    uint8_t data[kConsoleSize];
};

struct Channel {
    // Set by the monitor when it loads the VMM.
    uint32_t magic;
    uint32_t version;
    uint64_t ram_size;       // guest RAM, seen at the kernel window
    uint64_t tsc_to_ns;      // ns = (TSC ticks * tsc_to_ns) >> 32
    uint32_t site_count;     // entries in the site table
    uint32_t cpuid_count;
    CpuidEntry cpuid[kMaxCpuid];

    // The VMM's.
    uint32_t busy;        // the vCPU is inside the VMM
    uint32_t started;     // tsc_origin is set: the clock runs
    uint64_t tsc_origin;  // the guest's TSC at time 0 of the devices' clock
    uint32_t interrupt_announced;  // kInterrupt rung; the monitor clears it when it injects
    uint32_t reserved0;
    uint64_t bad_call;       // kBadCall: what the entry was given
    uint64_t bad_call_from;  // and the return address of the call

    // Both sides'.
    uint64_t clock_floor_ns;     // the latest time either side gave the models: time never goes back
    uint32_t generation;         // bumped by the monitor each time it writes the device states
    uint32_t reserved;
    devices::Pic8259Pair::State pic;
    devices::Pit8254::State pit;
    devices::Uart16550::State uart;
    devices::PciHost::State pci;

    // Counters the VMM keeps, which the monitor reports with --stats.
    uint64_t site_calls;
    uint64_t paravirt_calls;
    uint64_t ports_in_place;   // port accesses the devices here answered
    uint64_t ports_forwarded;  // port accesses passed on to the monitor (an exit each)
    uint64_t doorbells;

    ConsoleRing console;
};
static_assert(sizeof(Channel) <= kChannelMax);

inline constexpr uint64_t kMaxSites = kSiteTableMax / sizeof(SiteEntry);
inline constexpr uint64_t kMaxStubs = (kSiteTable - kStubs) / kStubSize;

}  // namespace previrt::vmm::kvm
