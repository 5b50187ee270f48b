/* The KVM para-virtualized build's claim to KVM's para-virtual interface
 * (abi/previrt/paravirt.h): pv::kNoteParavirtKvm, its version. The build
 * calls the entries with rel32 calls from C++ only (cpu.h). */
#include "previrt/note.h"

	previrt_paravirt_kvm_note

	.section .note.GNU-stack, "", @progbits
