// The in-place VMM for KVM: runs inside the guest, at CPL 0 in the guest's
// own address space, entered from the guest's rewritten sites (entry.S) or,
// for a guest built for KVM's para-virtual interface, from the para-virtual
// entries it calls directly (paravirt.S), into the same code. The
// guest's device registers (PIC pair, PIT, COM1, the PCI host bridge's
// configuration) are answered here, by the device library's models, so a
// port access costs a call instead of an exit; console output leaves in
// batches through the channel. What the VMM does not model (the exit port,
// CMOS, the POST code port) it passes on with the real instruction, which
// exits to the monitor as it would have from the guest.
//
// Freestanding: no allocation, no library; the core and the device models as
// their freestanding builds compile them.
#include <stddef.h>
#include <stdint.h>

#include <new>
#include <type_traits>

#include "devices/clock.h"
#include "devices/pit8254.h"
#include "previrt/paravirt.h"
#include "vmm/core/emulator.h"
#include "vmm/core/guest_memory.h"
#include "vmm/core/vcpu.h"
#include "vmm/kvm/channel.h"
#include "vmm/kvm/channel_devices.h"
#include "vmm/kvm/hole.h"

using namespace previrt;
using namespace previrt::vmm;
using namespace previrt::vmm::kvm;

// entry.S saves the guest's registers here: gpr[] at 0, rip at 128, rflags at 136.
extern "C" Vcpu previrt_kvm_vcpu;
Vcpu previrt_kvm_vcpu;
// Set: entry.S rings kInterrupt on the way out, with the guest's IF on.
extern "C" uint8_t previrt_kvm_ring_on_return;
static_assert(kDoorbellPort == 0x5f0 && kInterrupt == 2, "entry.S spells them out");
static_assert(kParavirtCall == 0x7fff0000 && pv::kOpCount == 16, "paravirt.S spells them out");
static_assert(offsetof(Vcpu, gpr) == 0 && offsetof(Vcpu, rip) == 128 && offsetof(Vcpu, rflags) == 136);

namespace {

Channel& channel() { return *reinterpret_cast<Channel*>(kChannel); }
const SiteEntry* site_table() { return reinterpret_cast<const SiteEntry*>(kSiteTable); }

uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

// The real instructions, for the ports the VMM passes on and the doorbells.
uint32_t port_in(uint16_t port, unsigned size) {
    uint32_t v = 0;
    if (size == 1) {
        uint8_t b;
        asm volatile("inb %1, %0" : "=a"(b) : "Nd"(port));
        v = b;
    } else if (size == 2) {
        uint16_t w;
        asm volatile("inw %1, %0" : "=a"(w) : "Nd"(port));
        v = w;
    } else {
        asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    }
    return v;
}

void port_out(uint16_t port, unsigned size, uint32_t v) {
    if (size == 1) asm volatile("outb %0, %1" : : "a"(static_cast<uint8_t>(v)), "Nd"(port));
    else if (size == 2) asm volatile("outw %0, %1" : : "a"(static_cast<uint16_t>(v)), "Nd"(port));
    else asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

void ring(Doorbell why) {
    ++channel().doorbells;
    port_out(kDoorbellPort, 1, why);
}

// The devices' time: nanoseconds of the guest's TSC since the origin, which
// the monitor's side of the clock counts from the same moment (kHello).
class TscClock final : public devices::Clock {
public:
    uint64_t now_ns() const override {
        Channel& c = channel();
        uint64_t ticks = rdtsc() - c.tsc_origin;
        uint64_t ns = static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * c.tsc_to_ns) >> 32);
        if (ns < c.clock_floor_ns) ns = c.clock_floor_ns;
        c.clock_floor_ns = ns;
        return ns;
    }
};

constexpr TscClock tsc_clock;

struct Devices : ChannelDevices {
    uint32_t generation = 0;
    Devices() : ChannelDevices(tsc_clock, [](uint8_t byte) { transmit(byte); }) {}

    static void transmit(uint8_t byte) {
        ConsoleRing& r = channel().console;
        if (r.head - r.tail >= kConsoleSize) ring(kConsoleFull);
        r.data[r.head % kConsoleSize] = byte;
        __atomic_store_n(&r.head, r.head + 1, __ATOMIC_RELEASE);
        // A line, or a ring half full: the console thread drains it (an
        // ioeventfd: no exit to the monitor's vCPU loop).
        if (byte == '\n' || r.head - r.tail == kConsoleSize / 2) port_out(kConsolePort, 1, 0);
    }

    // The monitor may have changed the states since the VMM last ran.
    void load() {
        Channel& c = channel();
        if (c.generation == generation) return;
        restore(c);
        generation = c.generation;
    }
    // What the VMM changed goes back: the models it touched
    // (ChannelDevices::Model), and the PIC, whose lines any of them drives.
    void store(unsigned touched) { save(channel(), kPic | touched); }
};

alignas(Devices) unsigned char devices_storage[sizeof(Devices)];
Devices* devs = nullptr;

class ImageBackend final : public Backend {
public:
    bool timer_programmed = false;
    unsigned touched = 0;  // ChannelDevices::Model
    uint32_t port_read(uint16_t port, unsigned size) override {
        uint32_t value = 0;
        if (with_model(port, [&](auto& model) { value = model.read(port, size); })) {
            ++channel().ports_in_place;
            return value;
        }
        ++channel().ports_forwarded;
        return port_in(port, size);
    }
    void port_write(uint16_t port, unsigned size, uint32_t value) override {
        bool in_place = with_model(port, [&](auto& model) {
            if constexpr (std::is_same_v<decltype(model), devices::Pit8254&>) {
                // A new count or mode may bring the next tick forward, before
                // the monitor's timer fires: it must be re-armed. (A later
                // tick only makes the timer early, and the monitor re-arms it
                // then; a latch command or port B moves nothing.)
                uint64_t next = model.next_event_ns();
                model.write(port, size, value);
                if (model.next_event_ns() < next) timer_programmed = true;
            } else {
                model.write(port, size, value);
            }
        });
        if (in_place) {
            ++channel().ports_in_place;
            return;
        }
        ++channel().ports_forwarded;
        port_out(port, size, value);
    }
    void flush_translations() override {}
    void flush_translation(uint64_t) override {}

private:
    // Calls `access` with the board's model at `port` by its own type (so
    // that the call is direct), noting the models the monitor must reload;
    // false for a port that is the monitor's, to pass on.
    template <typename Access>
    bool with_model(uint16_t port, Access access) {
        return devs->with_model(port, [&](auto& model) {
            touched |= ChannelDevices::model_of(model);
            access(model);
        });
    }
};

void start() {
    Channel& c = channel();
    devs = ::new (devices_storage) Devices();
    devs->generation = c.generation - 1;  // load the monitor's initial states
    c.tsc_origin = rdtsc();
    c.clock_floor_ns = 0;
    c.started = 1;
    ring(kHello);
}

void cpuid(Vcpu& v) {
    const Channel& c = channel();
    uint32_t function = static_cast<uint32_t>(v.gpr[kRax]), index = static_cast<uint32_t>(v.gpr[kRcx]);
    unsigned n = c.cpuid_count < kMaxCpuid ? c.cpuid_count : kMaxCpuid;
    for (unsigned i = 0; i < n; ++i) {
        const CpuidEntry& e = c.cpuid[i];
        if (e.function != function || (e.significant_index && e.index != index)) continue;
        v.gpr[kRax] = e.eax;
        v.gpr[kRbx] = e.ebx;
        v.gpr[kRcx] = e.ecx;
        v.gpr[kRdx] = e.edx;
        return;
    }
    // A leaf the table does not list: KVM answers it (an exit to the host
    // kernel, not to the monitor), as it would have at the site.
    uint32_t a, b, cx, d;
    asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(cx), "=d"(d) : "a"(function), "c"(index));
    v.gpr[kRax] = a;
    v.gpr[kRbx] = b;
    v.gpr[kRcx] = cx;
    v.gpr[kRdx] = d;
}

// The guest loads a root: make sure its first PDPT maps the hole, as the one
// loaded now does, or the next site would call into nothing. The guest keeps
// PDPT entry 2 free (its layout's hole); its page tables are RAM, seen at the
// kernel window.
void write_cr3(uint64_t root) {
    const Channel& c = channel();
    auto entry = [&](uint64_t table, unsigned i) -> uint64_t* {
        uint64_t pa = (table & kCr3AddressMask) + 8 * i;
        return pa + 8 <= c.ram_size ? reinterpret_cast<uint64_t*>(layout::kKernelBase + pa) : nullptr;
    };
    if (uint64_t* pml4e = entry(root, 0); pml4e && (*pml4e & 1))
        if (uint64_t* pdpte = entry(*pml4e, kPdptIndex)) *pdpte = kPdptEntry;
    asm volatile("mov %0, %%cr3" : : "r"(root) : "memory");
}

// The guest entered with what no stub pushes (it jumped into the VMM, or
// called an operation KVM's interface does not offer): the monitor names it
// and stops the guest.
[[noreturn]] void refuse(uint64_t what, uint64_t from) {
    Channel& c = channel();
    c.bad_call = what;
    c.bad_call_from = from;
    c.busy = 0;
    ring(kBadCall);
    for (;;) asm volatile("cli; hlt");
}

// After a port access in place: the PIT re-armed, and an interrupt the
// access raised on its way to the guest.
void after_access(const ImageBackend& backend, const Vcpu& v) {
    Channel& c = channel();
    devs->store(backend.touched);
    if (backend.timer_programmed) ring(kTimer);
    if (devs->pic.pending()) {
        // The guest takes interrupts where it called: the monitor injects at
        // the doorbell entry.S rings on the way out. It does not: the monitor
        // asks KVM for an interrupt window (once is enough).
        if (v.rflags & kFlagIf) {
            previrt_kvm_ring_on_return = 1;
        } else if (!c.interrupt_announced) {
            c.interrupt_announced = 1;
            ring(kInterrupt);
        }
    }
}

// A port access in place (or passed on), from a site or a para-virtual call.
uint32_t port_access(bool in, uint16_t port, unsigned size, uint32_t value, const Vcpu& v) {
    devs->load();
    ImageBackend backend;
    uint32_t result = 0;
    if (in) result = backend.port_read(port, size);
    else backend.port_write(port, size, value);
    after_access(backend, v);
    return result;
}

// A para-virtual operation (abi/previrt/paravirt.h, KVM's interface):
// arguments in rdi, rsi, rdx, a result in rax.
void paravirt(uint64_t op, Vcpu& v) {
    Channel& c = channel();
    ++c.paravirt_calls;
    uint64_t return_address = v.rip + 5;  // entry.S took 5 off, as for a site
    uint64_t a = v.gpr[kRdi], b = v.gpr[kRsi];
    switch (op) {
    case pv::kIn:
    case pv::kOut: {
        if (a > 0xffff || (b != 1 && b != 2 && b != 4)) refuse(kParavirtCall + op, return_address);
        uint32_t result = port_access(op == pv::kIn, static_cast<uint16_t>(a), static_cast<unsigned>(b),
                                      static_cast<uint32_t>(v.gpr[kRdx]), v);
        if (op == pv::kIn) v.gpr[kRax] = result;
        break;
    }
    case pv::kWriteCr:
        if (a != 3) refuse(kParavirtCall + op, return_address);
        write_cr3(b);
        break;
    default: refuse(kParavirtCall + op, return_address);  // KVM runs the instruction natively: the guest keeps it
    }
    v.rip = return_address;
}

}  // namespace

// One call from a rewritten site or a para-virtual entry, with interrupts
// off and the guest's registers in previrt_kvm_vcpu; on return, rip says
// where the guest goes on.
extern "C" void previrt_kvm_call(uint64_t index) {
    Channel& c = channel();
    c.busy = 1;
    if (!c.started || !devs) start();
    Vcpu& v = previrt_kvm_vcpu;
    v.cpl = 0;
    if (index >= kParavirtCall && index < kParavirtCall + pv::kOpCount) {
        paravirt(index - kParavirtCall, v);
        c.busy = 0;
        return;
    }
    if (index >= c.site_count || index >= kMaxSites) refuse(index, v.rip + 5);  // a jump into the stubs no site made
    ++c.site_calls;
    const SiteEntry& s = site_table()[index];
    v.rip = s.address;
    switch (s.action) {
    case SiteAction::Emulate: {
        devs->load();
        ImageBackend backend;
        GuestMemory memory(reinterpret_cast<uint8_t*>(layout::kKernelBase), c.ram_size);
        Emulation e = emulate(memory, v, backend, s.insn);
        if (e.outcome != Outcome::Done) refuse(index, v.rip + s.site_length);  // checked at load: in and out emulate
        after_access(backend, v);
        break;
    }
    case SiteAction::PortIn:
    case SiteAction::PortOut: {
        uint16_t port = s.port == kPortInDx ? static_cast<uint16_t>(v.gpr[kRdx]) : s.port;
        unsigned size = s.size == 1 || s.size == 2 ? s.size : 4;
        uint64_t& rax = v.gpr[kRax];
        uint32_t result = port_access(s.action == SiteAction::PortIn, port, size, static_cast<uint32_t>(rax), v);
        // in al and in ax keep the rest of rax; in eax zero-extends (Intel SDM Vol. 1, 3.4.1.1).
        if (s.action == SiteAction::PortIn)
            rax = size == 1 ? (rax & ~0xffull) | (result & 0xff)
                  : size == 2 ? (rax & ~0xffffull) | (result & 0xffff)
                              : result;
        break;
    }
    case SiteAction::Cpuid: cpuid(v); break;
    case SiteAction::WriteCr3: write_cr3(v.gpr[s.reg & 15]); break;
    }
    v.rip = s.address + s.site_length;
    c.busy = 0;
}
