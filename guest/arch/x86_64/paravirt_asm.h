/* The para-virtual interface's numbers for the guest's assembly, which cannot
 * include abi/previrt/paravirt.h; paravirt.h checks them against it.
 * paravirt_symbols.S turns them into the symbols the assembly calls. */
#pragma once

#define PV_INTERRUPT_FLAG 0x80001000
#define PV_EVENT_PENDING 0x80001001
#define PV_ENTRY_BASE 0x80000800
#define PV_ENTRY_SIZE 16
#define PV_OP_STI 0
#define PV_OP_HALT 1
#define PV_OP_SWAPGS 13
#define PV_OP_SYSRET 14
#define PV_OP_IRET 15
