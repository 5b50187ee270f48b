# Lines the hook does not understand reach the assembler untouched.
	.text
	.set foo, 1
bar = 2
	.equ baz, bar + foo
	.if foo
	nop
	.endif
	.byte 1, 2, 3 ; .word 4
	mov %rax, %rbx
	movq %gs:0x10, %rax
	pushq %rax
	push $0x1
	popq %rdx
	mov %cs:(%rax), %ebx
	.dc.a 0
	.byte 1, 2, 3		# not one instruction
	.byte 0x90, 0x90	# two instructions, neither sensitive
	.byte sym		# not a literal
	.section .rodata
	.byte 0xfa		# cli's byte, but data
