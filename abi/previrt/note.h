/* The ELF notes by which an image makes its claims to the monitors: each is
 * named "previrt" and has a type; its descriptor says the rest. Declared once,
 * for the C++ that reads them (boot_info.h and paravirt.h take their constants
 * from here) and for the assembly that writes them, the guest's and the test
 * guests', with a macro a note:
 *
 *   previrt_entry64_note SYMBOL   the 64-bit entry's address (boot_info.h's protocol)
 *   previrt_paravirt_note         built for the Linux process's para-virtual interface, its version
 *   previrt_paravirt_kvm_note     built for KVM's para-virtual interface, its version (paravirt.h)
 *
 * The site records (PREVIRT_NOTE_SITES) are notes too, in a section of their
 * own that the afterburner writes (site_record.h).
 *
 * Each goes into section .note.previrt, which the image's linker script keeps
 * (and puts in a PT_NOTE segment), and leaves the section it was called in as
 * it was. */
#ifndef PREVIRT_NOTE_H
#define PREVIRT_NOTE_H

#define PREVIRT_NOTE_NAME "previrt"
#define PREVIRT_NOTE_ENTRY64 1       /* descriptor: the entry's virtual address, 8 bytes */
#define PREVIRT_NOTE_PARAVIRT 2      /* descriptor: the interface's version, 4 bytes */
#define PREVIRT_PARAVIRT_VERSION 1
#define PREVIRT_NOTE_PARAVIRT_KVM 3  /* descriptor: the interface's version, 4 bytes */
#define PREVIRT_PARAVIRT_KVM_VERSION 1
#define PREVIRT_NOTE_SITES 4         /* descriptor: a chunk of site records (site_record.h) */

#ifdef __ASSEMBLER__
/* The header, the name and the padding of a note whose `size` bytes of
 * descriptor follow (ELF's note layout: namesz, descsz, type, then name and
 * descriptor each padded to 4 bytes). */
.macro previrt_note_header type, size
	.balign 4
	.long .Lprevirt_note_name_end\@ - .Lprevirt_note_name\@
	.long \size
	.long \type
.Lprevirt_note_name\@:
	.asciz PREVIRT_NOTE_NAME
.Lprevirt_note_name_end\@:
	.balign 4
.endm

.macro previrt_entry64_note entry
	.pushsection .note.previrt, "a"
	previrt_note_header PREVIRT_NOTE_ENTRY64, 8
	.quad \entry
	.popsection
.endm

.macro previrt_paravirt_note
	.pushsection .note.previrt, "a"
	previrt_note_header PREVIRT_NOTE_PARAVIRT, 4
	.long PREVIRT_PARAVIRT_VERSION
	.popsection
.endm

.macro previrt_paravirt_kvm_note
	.pushsection .note.previrt, "a"
	previrt_note_header PREVIRT_NOTE_PARAVIRT_KVM, 4
	.long PREVIRT_PARAVIRT_KVM_VERSION
	.popsection
.endm
#endif

#endif
