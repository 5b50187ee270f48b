/* The guest's claims to monitors: ELF notes named "previrt" (the types in
 * abi/previrt/boot_info.h and paravirt.h). `previrt_note TYPE, SIZE` opens
 * one in .note.previrt; the SIZE bytes of its descriptor follow it. */
#pragma once

.macro previrt_note type, size
	.section .note.previrt, "a"
	.balign 4
	.long 8				/* name size: "previrt\0" */
	.long \size			/* descriptor size */
	.long \type
	.asciz "previrt"
	.balign 4
.endm
