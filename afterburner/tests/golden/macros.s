# Sensitive instructions inside macro and .rept bodies are padded at each expansion.
	.macro write_cr n, reg
	mov \reg, %cr\n
	.endm
	.macro quiet
	pushfq; cli
	.endm
	.macro cli
	nop
	.endm

	.text
f:
	write_cr 3, %rax
	write_cr 4, %rbx
	quiet
	.rept 3
	outb %al, $0x80
	.endr
	.irp port, 0x20, 0xa0
	outb %al, $\port
	.endr
	cli	# the macro above, not the instruction
	popfq
