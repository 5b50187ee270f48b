// The para-virtualized builds' way to the hypervisor: the Linux-process
// hypervisor's interface (PREVIRT_PARAVIRT) or KVM's (PREVIRT_PARAVIRT_KVM),
// abi/previrt/paravirt.h, called directly where the other build has a
// sensitive instruction. Only cpu.h and the assembly (sensitive.h) use it.
#pragma once

#if defined(PREVIRT_PARAVIRT) && defined(PREVIRT_PARAVIRT_KVM)
#error "one para-virtual interface per build"
#endif
#if defined(PREVIRT_PARAVIRT) || defined(PREVIRT_PARAVIRT_KVM)
#define PREVIRT_PV_CALLS 1

#include <stdint.h>

#include "arch/x86_64/paravirt_asm.h"
#include "previrt/paravirt.h"

namespace guest::pv {

using previrt::pv::Op;
static_assert(PV_INTERRUPT_FLAG == previrt::pv::kInterruptFlag && PV_EVENT_PENDING == previrt::pv::kEventPending);
static_assert(PV_ENTRY_BASE == previrt::pv::kEntryBase && PV_ENTRY_SIZE == previrt::pv::kEntrySize);
static_assert(PV_OP_STI == previrt::pv::kSti && PV_OP_HALT == previrt::pv::kHalt &&
              PV_OP_SWAPGS == previrt::pv::kSwapgs && PV_OP_SYSRET == previrt::pv::kSysret &&
              PV_OP_IRET == previrt::pv::kIret);

// A direct call of an entry, which keeps every register but rax.
inline uint64_t call(Op op, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0) {
    uint64_t result;
    asm volatile("call %P[entry]"
                 : "=a"(result)
                 : [entry] "i"(previrt::pv::entry(op)), "D"(a), "S"(b), "d"(c)
                 : "memory");
    return result;
}

inline volatile uint8_t& interrupt_flag() { return *reinterpret_cast<volatile uint8_t*>(previrt::pv::kInterruptFlag); }
inline bool event_pending() { return *reinterpret_cast<volatile uint8_t*>(previrt::pv::kEventPending); }

inline void disable_interrupts() {
    interrupt_flag() = 0;
    asm volatile("" ::: "memory");
}
inline void enable_interrupts() {
    asm volatile("" ::: "memory");
    interrupt_flag() = 1;
    if (event_pending()) call(previrt::pv::kSti);
}

}  // namespace guest::pv

#endif
