/* Interrupt and exception entry stubs. Each pushes a zero where the processor
 * pushes no error code, then its vector, and joins the common path, which saves
 * the registers as an InterruptFrame (interrupts.h), switches to the kernel's
 * GS base when it came from user mode, and calls interrupt_dispatch. */

#include "arch/x86_64/sensitive.h"

.macro stub vector, has_error
	.globl interrupt_stub_\vector
interrupt_stub_\vector:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vector
	jmp interrupt_common
.endm

	.text
/* Intel SDM Vol. 3A, 6.3.1: the exceptions that push an error code. */
	stub 0, 0
	stub 1, 0
	stub 2, 0
	stub 3, 0
	stub 4, 0
	stub 5, 0
	stub 6, 0
	stub 7, 0
	stub 8, 1
	stub 9, 0
	stub 10, 1
	stub 11, 1
	stub 12, 1
	stub 13, 1
	stub 14, 1
	stub 15, 0
	stub 16, 0
	stub 17, 1
	stub 18, 0
	stub 19, 0
	stub 20, 0
	stub 21, 1
	.irp v, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	stub \v, 0
	.endr
	.irp v, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47
	stub \v, 0
	.endr

	.type interrupt_common, @function
interrupt_common:
	testb $3, 24(%rsp)		/* the saved CS: from user mode? */
	jz 1f
	arch_swapgs
1:	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call interrupt_dispatch
	.globl interrupt_return
interrupt_return:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector and error code */
	testb $3, 8(%rsp)
	jz 2f
	arch_swapgs
2:	arch_iretq
	.size interrupt_common, . - interrupt_common

/* The addresses of the stubs, for the IDT. */
	.section .rodata
	.balign 8
	.globl interrupt_stubs
interrupt_stubs:
	.irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.quad interrupt_stub_\v
	.endr
	.irp v, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47
	.quad interrupt_stub_\v
	.endr

	.section .note.GNU-stack, "", @progbits
