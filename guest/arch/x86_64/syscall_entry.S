/* The syscall instruction's entry (Intel SDM Vol. 2B, SYSCALL): rcx holds the
 * user rip, r11 the user rflags; rsp is still the user's. The kernel's GS base
 * (after swapgs) points at the per-CPU area: kernel stack top, then a slot for
 * the user rsp. The frame built here is syscall.h's SyscallFrame. */
#include "arch/x86_64/sensitive.h"

	.text
	.globl syscall_entry
	.type syscall_entry, @function
syscall_entry:
	arch_swapgs
	movq %rsp, %gs:8
	movq %gs:0, %rsp
	pushq %gs:8			/* user rsp */
	pushq %r11			/* user rflags */
	pushq %rcx			/* user rip */
	pushq %r9
	pushq %r8
	pushq %r10
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rax			/* the number */
	arch_sti
	movq %rsp, %rdi
	call syscall_dispatch
	arch_cli
	addq $8, %rsp			/* the number: rax holds the result */
	popq %rdi			/* every register but rax, rcx and r11 comes back as it was */
	popq %rsi
	popq %rdx
	popq %r10
	popq %r8
	popq %r9
	popq %rcx
	popq %r11
	arch_swapgs
	arch_sysretq_pop_rsp
	.size syscall_entry, . - syscall_entry

	.section .note.GNU-stack, "", @progbits
