# Labels stay in front of the site text, so they still name the instruction.
	.text
	.type irq_off, @function
irq_off:	cli
1: 2: sti
	jmp 1b
"quoted label": hlt
.Llocal: iretq
	ljmp *(%rax)
	lcall *8(%rbx)
	lret $8
	int $0x80
	int3
