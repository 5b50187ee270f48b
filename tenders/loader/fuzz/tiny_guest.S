/* The loader fuzzer's seed guest (corpus/tiny-guest.elf): the previrt entry note
 * and a few sensitive instructions, recorded by the afterburner:
 *   gcc -B build/afterburner-hook -I abi -c tiny_guest.S && ld -T tiny_guest.ld -o tiny-guest.elf tiny_guest.o && strip tiny-guest.elf */
#include "previrt/note.h"

	previrt_entry64_note entry
	.text
	.globl entry
entry:
	cli
	mov $0x3f8, %dx
	mov $'x', %al
	out %al, %dx
	sti
	hlt
	mov %cr3, %rax
	mov %rax, %cr3
	wrmsr
	jmp entry
