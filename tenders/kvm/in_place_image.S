// The in-place VMM image (vmm/kvm), carried inside previrt so that a run
// needs no file beside it.
    .section .rodata, "a"
    .balign 16
    .globl previrt_kvm_vmm_image, previrt_kvm_vmm_image_end
previrt_kvm_vmm_image:
    .incbin PREVIRT_KVM_VMM_IMAGE
previrt_kvm_vmm_image_end:
    .section .note.GNU-stack, "", @progbits
