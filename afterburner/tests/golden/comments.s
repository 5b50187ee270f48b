/* Several statements per line, both comment styles, strings and character
   constants that hold separators; cli inside this comment is not code. */
	.text
	cli; sti ; hlt	# cli in a comment
	movb $';', %al; cpuid /* rdmsr */ ; rdtsc
	.ascii "cli; sti # not code"; pushf
/ a line comment: wbinvd
	/* block
	   cli
	*/ popf
	.byte 0x90 # ; invd
