// The processor's privilege transitions, done on the virtual CPU: delivery of
// an interrupt or exception through the guest's IDT, and the instructions
// that cross privilege levels (syscall, sysret, iretq). Each follows the
// Intel SDM's pseudo-code for 64-bit mode and reports the fault the hardware
// would raise instead of raising it.
//
// Freestanding.
#pragma once

#include <stdint.h>

#include "vmm/core/guest_memory.h"
#include "vmm/core/vcpu.h"

namespace previrt::vmm {

// Exception vectors (Intel SDM Vol. 3A, table 6-1).
inline constexpr uint8_t kVectorDivide = 0, kVectorDebug = 1, kVectorBreakpoint = 3, kVectorInvalidOpcode = 6,
                         kVectorDoubleFault = 8, kVectorGeneralProtection = 13, kVectorPageFault = 14;

struct Event {
    uint8_t vector = 0;
    bool has_error_code = false;
    uint32_t error_code = 0;
    // An `int n` from the guest: the gate's DPL is checked against the CPL.
    bool software = false;
    // #PF: the faulting address, for CR2.
    uint64_t address = 0;

    static Event exception(uint8_t vector) { return {vector, false, 0, false, 0}; }
    static Event exception(uint8_t vector, uint32_t error_code) { return {vector, true, error_code, false, 0}; }
    static Event page_fault(uint64_t address, uint32_t error_code) {
        return {kVectorPageFault, true, error_code, false, address};
    }
    static Event interrupt(uint8_t vector) { return {vector, false, 0, false, 0}; }
};

// Whether `vector` pushes an error code when it is an exception (Intel SDM Vol. 3A, 6.3.1).
bool pushes_error_code(uint8_t vector);

enum class Delivered {
    Ok,           // the vCPU is at the handler
    TripleFault,  // delivering the double fault faulted too: the machine would reset
};

// Delivers `event` at the vCPU's current state (rip is where the guest
// resumes after the handler's iretq). A fault during delivery becomes a double
// fault, and one during that a triple fault.
Delivered deliver(const GuestMemory& memory, Vcpu& vcpu, Event event);

// A transition that may fault. On failure `fault` holds the event to deliver
// instead and the vCPU is unchanged.
struct Transition {
    bool ok = true;
    Event fault;
};

// `syscall` from the vCPU's current state; rip already points past it.
Transition do_syscall(Vcpu& vcpu);
// `sysretq` (REX.W: to 64-bit user code).
Transition do_sysret(Vcpu& vcpu);
// `iretq`: pops the frame from the vCPU's stack.
Transition do_iret(const GuestMemory& memory, Vcpu& vcpu);

// The descriptor of `selector` in the GDT (or nothing for the null selector
// or one past the limit), as two 32-bit words.
bool read_descriptor(const GuestMemory& memory, const Vcpu& vcpu, uint16_t selector, uint64_t& low,
                     uint64_t& high);

}  // namespace previrt::vmm
