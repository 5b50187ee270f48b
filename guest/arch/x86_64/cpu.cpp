#include "arch/x86_64/cpu.h"

#include "previrt/guest_layout.h"

namespace guest::cpu {

void power_off(uint8_t status) {
    // The exit port ends the run where a platform provides it (QEMU's
    // isa-debug-exit, the monitors); elsewhere the machine stops here.
    outb(previrt::layout::kExitPort, status);
    for (;;) {
        cli();
        hlt();
    }
}

}  // namespace guest::cpu
