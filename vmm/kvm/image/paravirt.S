// The para-virtual entries a KVM para-virtualized guest calls directly
// (abi/previrt/paravirt.h: pv::entry(op), 16 bytes each from kEntryBase):
// each is a stub like a rewritten site's, `push $(kParavirtCall + op); jmp
// previrt_kvm_entry`, so a call costs what a rewritten site's does and runs
// the same code. image.ld puts this section at kEntryBase.

#define PARAVIRT_CALL 0x7fff0000  // channel.h: kParavirtCall
#define OP_COUNT 16               // paravirt.h: pv::kOpCount

    .section .text.paravirt, "ax"
    .globl previrt_kvm_paravirt_entries
previrt_kvm_paravirt_entries:
    .set op, 0
    .rept OP_COUNT
    .balign 16
    pushq $(PARAVIRT_CALL + op)
    jmp previrt_kvm_entry
    .set op, op + 1
    .endr
    .globl previrt_kvm_paravirt_entries_end
previrt_kvm_paravirt_entries_end:

	.section .note.GNU-stack, "", @progbits
