// The para-virtualized build's way to the hypervisor (PREVIRT_PARAVIRT): the
// Linux-process hypervisor's interface (abi/previrt/paravirt.h), called
// directly where the other build has a sensitive instruction. Only cpu.h and
// the assembly (sensitive.h) use it.
#pragma once

#ifdef PREVIRT_PARAVIRT

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
