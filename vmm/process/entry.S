/* The ways between the guest kernel, which runs natively in this process, and
 * the in-place VMM. The guest's registers while the VMM holds them are in
 * previrt_vcpu (a Vcpu, vmm/core/vcpu.h): rax..r15 in encoding
 * order at 0-120, rip at 128, rflags at 136. The VMM runs on its own stack,
 * which every entry starts afresh: an entry never returns, it resumes.
 *
 * A de-privileged guest can load FS and GS with a null selector natively,
 * which on some processors clears the base: every entry puts back the host's
 * FS base (previrt_host_fs_base), which the C library's thread-local storage
 * lives at, before it runs any C++.
 *
 * previrt_hot holds the address of the hot page (hole.h): virtual IF at 0,
 * event pending at 1. */

#define REG(n) previrt_vcpu+8*(n)(%rip)
#define RIP previrt_vcpu+128(%rip)
#define RFLAGS previrt_vcpu+136(%rip)
#define HOT_IF 0
#define HOT_PENDING 1
#define FLAGS_KEPT_OUT 0x44100	/* AC, NT, TF: never loaded into the host's RFLAGS */

	.text

/* From a rewritten site: `call thunk` left the return address (the site's
 * address + 5) on the guest's stack. */
	.globl previrt_site_entry
	.type previrt_site_entry, @function
previrt_site_entry:
	movq %rax, REG(0)
	movq %rcx, REG(1)
	movq %rdx, REG(2)
	movq %rbx, REG(3)
	movq %rbp, REG(5)
	movq %rsi, REG(6)
	movq %rdi, REG(7)
	movq %r8, REG(8)
	movq %r9, REG(9)
	movq %r10, REG(10)
	movq %r11, REG(11)
	movq %r12, REG(12)
	movq %r13, REG(13)
	movq %r14, REG(14)
	movq %r15, REG(15)
	pushfq
	popq %rax
	movq %rax, RFLAGS
	popq %rax
	movq %rax, RIP
	movq %rsp, REG(4)
	movq previrt_vmm_stack_top(%rip), %rsp
	movq previrt_host_fs_base(%rip), %rax
	wrfsbase %rax
	call previrt_on_site
	ud2
	.size previrt_site_entry, . - previrt_site_entry

/* From a para-virtual entry (abi/previrt/paravirt.h): its thunk pushed the
 * operation over the call's return address. */
	.globl previrt_pv_entry
	.type previrt_pv_entry, @function
previrt_pv_entry:
	movq %rax, REG(0)
	movq %rcx, REG(1)
	movq %rdx, REG(2)
	movq %rbx, REG(3)
	movq %rbp, REG(5)
	movq %rsi, REG(6)
	movq %rdi, REG(7)
	movq %r8, REG(8)
	movq %r9, REG(9)
	movq %r10, REG(10)
	movq %r11, REG(11)
	movq %r12, REG(12)
	movq %r13, REG(13)
	movq %r14, REG(14)
	movq %r15, REG(15)
	pushfq
	popq %rax
	movq %rax, RFLAGS
	popq %rax
	movq %rax, previrt_pv_op(%rip)
	popq %rax
	movq %rax, RIP
	movq %rsp, REG(4)
	movq previrt_vmm_stack_top(%rip), %rsp
	movq previrt_host_fs_base(%rip), %rax
	wrfsbase %rax
	call previrt_on_pv
	ud2
	.size previrt_pv_entry, . - previrt_pv_entry

/* Where a signal handler sends the thread after it saved the guest's
 * registers from the signal frame (or left them, when the signal came in
 * previrt_resume_guest). */
	.globl previrt_event_entry
	.type previrt_event_entry, @function
previrt_event_entry:
	movq previrt_vmm_stack_top(%rip), %rsp
	movq previrt_host_fs_base(%rip), %rax
	wrfsbase %rax
	call previrt_on_event
	ud2
	.size previrt_event_entry, . - previrt_event_entry

/* [[noreturn]] void previrt_resume_guest(): the guest's registers back and on
 * to its rip. A signal that comes between the first and the last instruction
 * here finds the registers still in previrt_vcpu and sends the thread to
 * previrt_event_entry instead. */
	.globl previrt_resume_guest, previrt_resume_guest_end
	.type previrt_resume_guest, @function
previrt_resume_guest:
	movq previrt_hot(%rip), %rax
	cmpb $0, HOT_PENDING(%rax)
	je 1f
	cmpb $0, HOT_IF(%rax)
	jne previrt_event_entry
1:	movq RFLAGS, %rax
	andq $~FLAGS_KEPT_OUT, %rax
	pushq %rax
	popfq
	movq REG(0), %rax
	movq REG(1), %rcx
	movq REG(2), %rdx
	movq REG(3), %rbx
	movq REG(5), %rbp
	movq REG(6), %rsi
	movq REG(7), %rdi
	movq REG(8), %r8
	movq REG(9), %r9
	movq REG(10), %r10
	movq REG(11), %r11
	movq REG(12), %r12
	movq REG(13), %r13
	movq REG(14), %r14
	movq REG(15), %r15
	movq REG(4), %rsp
previrt_resume_guest_end:
	jmp *RIP
	.size previrt_resume_guest, . - previrt_resume_guest

/* The fast paths: what a rewritten sti, pushf or popf calls. They keep every
 * register and flag of the guest's but what the instruction changes, and fall
 * back to previrt_site_entry, with the site not yet done, when an event waits. */
	.globl previrt_fast_begin, previrt_fast_end
previrt_fast_begin:

	.globl previrt_fast_sti
	.type previrt_fast_sti, @function
previrt_fast_sti:
	pushfq
	pushq %rax
	movq previrt_hot(%rip), %rax
	cmpb $0, HOT_PENDING(%rax)
	jne 1f
	movb $1, HOT_IF(%rax)
	popq %rax
	popfq
	ret
1:	popq %rax
	popfq
	jmp previrt_site_entry
	.size previrt_fast_sti, . - previrt_fast_sti

/* On entry: rsp = r0 - 8, [r0 - 8] = return address R. On return: rsp = r0 - 8,
 * [r0 - 8] = the flags with the virtual IF. */
	.globl previrt_fast_pushf
	.type previrt_fast_pushf, @function
previrt_fast_pushf:
	pushfq				/* [r0-16] = F */
	pushq %rax			/* [r0-24] */
	pushq %rcx			/* [r0-32] */
	movq 16(%rsp), %rax
	andq $~0x200, %rax
	movq previrt_hot(%rip), %rcx
	movzbl HOT_IF(%rcx), %ecx
	shll $9, %ecx
	orq %rcx, %rax			/* the guest's view of the flags */
	movq 24(%rsp), %rcx		/* R */
	movq %rax, 24(%rsp)		/* [r0-8] = the flags */
	movq 16(%rsp), %rax		/* F */
	movq %rcx, 16(%rsp)		/* [r0-16] = R */
	popq %rcx
	xchgq %rax, (%rsp)		/* [r0-24] = F, rax back */
	popfq
	ret
	.size previrt_fast_pushf, . - previrt_fast_pushf

/* On entry: [r0 - 8] = R, [r0] = the flags to pop, V. On return: rsp = r0 + 8. */
	.globl previrt_fast_popf
	.type previrt_fast_popf, @function
previrt_fast_popf:
	pushq %rax			/* [r0-16] */
	pushq %rcx			/* [r0-24] */
	movq 24(%rsp), %rax		/* V */
	movq previrt_hot(%rip), %rcx
	btq $9, %rax
	jnc 1f
	cmpb $0, HOT_PENDING(%rcx)
	jne 3f
	movb $1, HOT_IF(%rcx)
	jmp 2f
1:	movb $0, HOT_IF(%rcx)
2:	andq $~FLAGS_KEPT_OUT, %rax
	movq 16(%rsp), %rcx		/* R */
	movq %rcx, 24(%rsp)		/* [r0] = R */
	movq %rax, 16(%rsp)		/* [r0-8] = V */
	popq %rcx
	popq %rax
	popfq
	ret
3:	popq %rcx
	popq %rax
	jmp previrt_site_entry
	.size previrt_fast_popf, . - previrt_fast_popf

previrt_fast_end:

	.section .note.GNU-stack, "", @progbits
