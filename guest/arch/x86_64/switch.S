/* void switch_context(uint64_t* save_rsp, uint64_t next_rsp)
 * Saves the callee-saved registers on the current kernel stack, records the
 * stack pointer, and resumes the process whose stack is `next_rsp`. Called with
 * interrupts disabled; the resumed process finds them as it left them. */
#include "arch/x86_64/sensitive.h"

	.text
	.globl switch_context
	.type switch_context, @function
switch_context:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size switch_context, . - switch_context

/* A new process's first switch returns here; process_entry never returns. */
	.globl process_start
	.type process_start, @function
process_start:
	call process_entry
	ud2
	.size process_start, . - process_start

/* [[noreturn]] void enter_user(uint64_t rip, uint64_t rsp, uint64_t arg)
 * The first entry to user mode: an interrupt-return frame with IF set. */
	.globl enter_user
	.type enter_user, @function
enter_user:
	arch_cli
	pushq $0x1b			/* gdt::kUserData */
	pushq %rsi
	pushq $0x202			/* IF, and the reserved bit 1 */
	pushq $0x23			/* gdt::kUserCode */
	pushq %rdi
	movq %rdx, %rdi
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %ebp, %ebp
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	arch_swapgs
	arch_iretq
	.size enter_user, . - enter_user

	.section .note.GNU-stack, "", @progbits
