/* The KVM para-virtualized build's claim to KVM's para-virtual interface
 * (abi/previrt/paravirt.h): pv::kNoteParavirtKvm, its version. The build
 * calls the entries with rel32 calls from C++ only (cpu.h). */
#include "boot/previrt_note.h"

	previrt_note 3, 4
	.long 1				/* pv::kParavirtKvmVersion */

	.section .note.GNU-stack, "", @progbits
