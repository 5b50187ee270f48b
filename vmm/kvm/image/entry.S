// The way into the in-place VMM from a rewritten site. The monitor rewrites
// each site into `call stub`, and each stub is `push $index; jmp
// previrt_kvm_entry` (hole.h), so on entry the guest's stack holds the site's
// index and, above it, the return address (the site + 5). The VMM runs with
// interrupts off, on a stack of its own, the guest's registers saved in
// previrt_kvm_vcpu; it resumes the guest where previrt_kvm_vcpu.rip says (past
// the site's NOPs) with the flags it came with.

#define VCPU_RIP 128
#define DOORBELL_PORT 0x5f0       // channel.h: kDoorbellPort
#define DOORBELL_INTERRUPT 2      // channel.h: kInterrupt
#define VCPU_RFLAGS 136
#define TRAP_FLAG 0x100           // RFLAGS.TF (Intel SDM Vol. 1, 3.4.3.3)

    .section .text.entry, "ax"
    .globl previrt_kvm_entry
    .type previrt_kvm_entry, @function
previrt_kvm_entry:
    pushfq
    cli
    mov %rsp, saved_rsp(%rip)
    lea stack_top(%rip), %rsp
    mov %rax, previrt_kvm_vcpu + 0(%rip)
    mov %rcx, previrt_kvm_vcpu + 8(%rip)
    mov %rdx, previrt_kvm_vcpu + 16(%rip)
    mov %rbx, previrt_kvm_vcpu + 24(%rip)
    mov %rbp, previrt_kvm_vcpu + 40(%rip)
    mov %rsi, previrt_kvm_vcpu + 48(%rip)
    mov %rdi, previrt_kvm_vcpu + 56(%rip)
    mov %r8, previrt_kvm_vcpu + 64(%rip)
    mov %r9, previrt_kvm_vcpu + 72(%rip)
    mov %r10, previrt_kvm_vcpu + 80(%rip)
    mov %r11, previrt_kvm_vcpu + 88(%rip)
    mov %r12, previrt_kvm_vcpu + 96(%rip)
    mov %r13, previrt_kvm_vcpu + 104(%rip)
    mov %r14, previrt_kvm_vcpu + 112(%rip)
    mov %r15, previrt_kvm_vcpu + 120(%rip)
    mov saved_rsp(%rip), %rax
    lea 24(%rax), %rcx                      // the guest's rsp at the site
    mov %rcx, previrt_kvm_vcpu + 32(%rip)
    mov (%rax), %rcx                        // its flags
    mov %rcx, previrt_kvm_vcpu + VCPU_RFLAGS(%rip)
    mov 16(%rax), %rcx                      // the return address: the site + 5
    sub $5, %rcx
    mov %rcx, previrt_kvm_vcpu + VCPU_RIP(%rip)
    mov 8(%rax), %rdi                       // the site's index
    cld
    call previrt_kvm_call
    mov saved_rsp(%rip), %rax
    mov previrt_kvm_vcpu + VCPU_RIP(%rip), %rcx
    mov %rcx, 16(%rax)                      // return past the site
    mov previrt_kvm_vcpu + 8(%rip), %rcx
    mov previrt_kvm_vcpu + 16(%rip), %rdx
    mov previrt_kvm_vcpu + 24(%rip), %rbx
    mov previrt_kvm_vcpu + 40(%rip), %rbp
    mov previrt_kvm_vcpu + 48(%rip), %rsi
    mov previrt_kvm_vcpu + 56(%rip), %rdi
    mov previrt_kvm_vcpu + 64(%rip), %r8
    mov previrt_kvm_vcpu + 72(%rip), %r9
    mov previrt_kvm_vcpu + 80(%rip), %r10
    mov previrt_kvm_vcpu + 88(%rip), %r11
    mov previrt_kvm_vcpu + 96(%rip), %r12
    mov previrt_kvm_vcpu + 104(%rip), %r13
    mov previrt_kvm_vcpu + 112(%rip), %r14
    mov previrt_kvm_vcpu + 120(%rip), %r15
    mov %rax, %rsp
    // The trap flag is not the guest's to get back from the site: it is a
    // debugger's single step, which the monitor may have turned on or off
    // while the VMM ran (a stepped window opened or closed by an access the
    // VMM passed on). The flags resumed keep the trap flag the VMM has now.
    pushfq
    pop %rax
    and $TRAP_FLAG, %eax
    andq $~TRAP_FLAG, (%rsp)
    or %rax, (%rsp)
    cmpb $0, previrt_kvm_ring_on_return(%rip)
    jne 1f
    mov previrt_kvm_vcpu + 0(%rip), %rax
    popfq                                   // the guest's IF again
    lea 8(%rsp), %rsp                       // the index
    ret

    // An interrupt waits and the guest takes interrupts at the site: ring
    // the doorbell with the guest's IF back on, so that the monitor can
    // inject it at once. From here on the VMM is done: an interrupt (and
    // the guest's handler, which may call the VMM again) can come between
    // any two instructions; the guest's rax and rdx wait on its stack.
1:  movb $0, previrt_kvm_ring_on_return(%rip)
    mov previrt_kvm_vcpu + 0(%rip), %rax
    mov %rax, 8(%rsp)                       // [flags] [rax] [return]
    push %rdx                               // [rdx] [flags] [rax] [return]
    mov 8(%rsp), %rdx
    xchg %rdx, (%rsp)
    mov %rdx, 8(%rsp)                       // [flags] [rdx] [rax] [return]
    mov $DOORBELL_PORT, %edx
    mov $DOORBELL_INTERRUPT, %eax
    popfq
    outb %al, %dx
    pop %rdx
    pop %rax
    ret
    .size previrt_kvm_entry, . - previrt_kvm_entry

    .bss
    .balign 16
    .globl previrt_kvm_ring_on_return
previrt_kvm_ring_on_return:
    .byte 0
    .balign 16
saved_rsp:
    .quad 0
    .balign 4096
    .skip 32768
stack_top:

    .section .note.GNU-stack, "", @progbits
