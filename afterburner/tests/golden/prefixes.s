# Prefixes belong to the site, whether written on the instruction's line, before
# it with ';', or on a line of their own.
	.text
	rep outsb
	rep; insw
	rep
	outsl
	lock orl $1, (%rax)
	data16 outsl
	cs outsb
	{disp32} lgdt 0(%rax)
	repne; nop
