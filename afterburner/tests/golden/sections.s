# Records follow their code into section stacks and COMDAT groups.
	.text
	cli
	.pushsection .text.unlikely, "ax", @progbits
	hlt
	.pushsection .data
	.long 0
	.popsection
	sti
	.popsection
	.section .text.inline_fn, "axG", @progbits, inline_fn, comdat
inline_fn:
	rdtsc
	ret
	.previous
	wrmsr
	.section .init.text, "ax"
	lidt (%rdi)
