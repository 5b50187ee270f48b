// A guest that lies to previrt-vmm through the in-place VMM's channel, which
// is guest memory it can write like any other (vmm/kvm/channel.h). Booted
// with --previrt, it finds the channel where the boot page tables map it and
// tells one lie, chosen by its command line:
//   console   a console ring whose indices say more bytes wait than it holds
//   doorbell  a doorbell that means nothing
//   badcall   a call of a para-virtual operation KVM's interface does not offer (sti)
//   badport   a para-virtual port read of 3 bytes
//   devices   device states of random bytes, a clock far in the future, the
//             clock's origin said again; then it ends through the exit port
//             with status 0x33, which is what the monitor must still see.
// The monitor must name the lie and stop (or go on, for the device states,
// which it only ever takes through the models' restore()), never crash or
// touch anything outside guest memory.
#include <stddef.h>
#include <stdint.h>

#include "previrt/boot_info.h"
#include "previrt/guest_layout.h"
#include "previrt/paravirt.h"
#include "vmm/kvm/channel.h"

using namespace previrt;
using namespace previrt::vmm::kvm;

namespace {

void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

// A call of a para-virtual entry, as a para-virtualized guest makes it.
void paravirt_call(pv::Op op, uint64_t a, uint64_t b) {
    uint64_t result;
    asm volatile("call *%1" : "=a"(result) : "r"(pv::entry(op)), "D"(a), "S"(b) : "memory");
}

bool is(const char* s, const char* word) {
    while (*word && *s == *word) ++s, ++word;
    return !*word && !*s;
}

uint64_t next(uint64_t& x) {  // xorshift64
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

}  // namespace

extern "C" [[noreturn]] void liar_main(uint64_t magic, uint64_t boot_info_phys) {
    auto* info = reinterpret_cast<const boot::BootInfo*>(layout::kKernelBase + boot_info_phys);
    volatile Channel& c = *reinterpret_cast<volatile Channel*>(kChannel);
    const char* lie = magic == boot::kBootMagic ? info->command_line : "";
    if (is(lie, "console")) {
        c.console.head = 0x7fff'0000;
        c.console.tail = 3;
        outb(kConsolePort, 0);  // the console thread's ioeventfd
        outb(kDoorbellPort, kConsoleFull);
    } else if (is(lie, "doorbell")) {
        outb(kDoorbellPort, 0x77);
    } else if (is(lie, "badcall")) {
        paravirt_call(pv::kSti, 0, 0);
    } else if (is(lie, "badport")) {
        paravirt_call(pv::kIn, 0x3f8, 3);
    } else if (is(lie, "devices")) {
        c.started = 1;
        outb(kDoorbellPort, kHello);
        uint64_t x = 0x9e37'79b9'7f4a'7c15;
        for (int round = 0; round < 64; ++round) {
            auto* p = reinterpret_cast<volatile uint8_t*>(&c.pic);
            size_t n = offsetof(Channel, site_calls) - offsetof(Channel, pic);
            for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(next(x));
            c.clock_floor_ns = round % 2 ? UINT64_MAX - round : next(x);
            c.generation = static_cast<uint32_t>(next(x));
            c.interrupt_announced = static_cast<uint32_t>(next(x));
            // Each doorbell has the monitor take the states and run the models.
            outb(kDoorbellPort, round % 3 == 0 ? kHello : round % 3 == 1 ? kInterrupt : kTimer);
        }
        outb(layout::kExitPort, 0x33);
    }
    outb(layout::kExitPort, 0x44);  // an unknown lie: a status the tests do not expect
    for (;;) asm volatile("cli; hlt");
}
