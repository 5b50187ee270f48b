# Intel syntax: operands in the other order, registers without %.
	.intel_syntax noprefix
	.text
	mov cr3, rax
	mov rbx, cr0
	mov ds, ax
	push fs
	in al, 0x60
	cli
	.att_syntax prefix
	mov %cr2, %rax
