/* The sensitive instructions of the guest's assembly, as macros: the
 * instructions themselves (which the afterburner records), or in the
 * para-virtualized build (PREVIRT_PARAVIRT) calls of the Linux-process
 * hypervisor's interface (abi/previrt/paravirt.h). Every macro keeps every
 * register and, but for arch_cli/arch_sti in the para-virtual build, the flags. */
#pragma once

#ifndef PREVIRT_PARAVIRT

.macro arch_cli
	cli
.endm
.macro arch_sti
	sti
.endm
.macro arch_hlt
	hlt
.endm
.macro arch_swapgs
	swapgs
.endm
.macro arch_iretq
	iretq
.endm
/* sysretq to the user rsp on top of the stack. */
.macro arch_sysretq_pop_rsp
	popq %rsp
	sysretq
.endm

#else

.macro arch_cli
	movb $0, pv_interrupt_flag(%rip)
.endm
.macro arch_sti
	movb $1, pv_interrupt_flag(%rip)
	cmpb $0, pv_event_pending(%rip)
	je 9f
	call pv_entry_sti
9:
.endm
.macro arch_hlt
	pushq %rdi
	xorl %edi, %edi
	call pv_entry_halt
	popq %rdi
.endm
.macro arch_swapgs
	call pv_entry_swapgs
.endm
/* The frame stays where iretq finds it; the entry drops the return address. */
.macro arch_iretq
	call pv_entry_iret
.endm
/* The user rsp stays on the kernel stack: the entry takes it from there,
 * and nothing is written below the user's stack pointer. */
.macro arch_sysretq_pop_rsp
	call pv_entry_sysret
.endm

#endif
