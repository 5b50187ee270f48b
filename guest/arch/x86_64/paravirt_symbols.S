/* The para-virtual interface's addresses as absolute symbols, so that the
 * guest's assembly reaches them with RIP-relative stores and rel32 calls. */
#include "arch/x86_64/paravirt_asm.h"
#include "previrt/note.h"

	.globl pv_interrupt_flag, pv_event_pending, pv_entry_sti, pv_entry_halt
	.globl pv_entry_swapgs, pv_entry_sysret, pv_entry_iret
	.set pv_interrupt_flag, PV_INTERRUPT_FLAG
	.set pv_event_pending, PV_EVENT_PENDING
	.set pv_entry_sti, PV_ENTRY_BASE + PV_ENTRY_SIZE * PV_OP_STI
	.set pv_entry_halt, PV_ENTRY_BASE + PV_ENTRY_SIZE * PV_OP_HALT
	.set pv_entry_swapgs, PV_ENTRY_BASE + PV_ENTRY_SIZE * PV_OP_SWAPGS
	.set pv_entry_sysret, PV_ENTRY_BASE + PV_ENTRY_SIZE * PV_OP_SYSRET
	.set pv_entry_iret, PV_ENTRY_BASE + PV_ENTRY_SIZE * PV_OP_IRET

	.section .note.GNU-stack, "", @progbits

/* The image's claim to the interface: pv::kNoteParavirt, its version. */
	previrt_paravirt_note
