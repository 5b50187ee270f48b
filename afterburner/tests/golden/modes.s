# The code mode is recorded, and follows the code into other code sections.
	.text
	.code32
start32:
	movl %cr0, %eax
	lgdt gdt
	.section .text.trampoline, "ax"
	.code16
trampoline:
	cli
	lidt 0
	.data
gdt:	.quad 0
	.text
	.code64
long_mode:
	swapgs
	sysretq
