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
#define HOT_CONTINUATION 8
#define FLAGS_KEPT_OUT 0x44100	/* AC, NT, TF: never loaded into the host's RFLAGS */

.macro SAVE_GUEST_REGISTERS
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
.endm

/* The guest's rsp saved, onto the VMM's stack, and into C++, for good. */
.macro ENTER_VMM handler
	movq %rsp, REG(4)
	movq previrt_vmm_stack_top(%rip), %rsp
	movq previrt_host_fs_base(%rip), %rax
	wrfsbase %rax
	call \handler
	ud2
.endm

	.text

/* From a rewritten site: `call thunk` left the return address (the site's
 * address + 5) on the guest's stack. */
	.globl previrt_site_entry
	.type previrt_site_entry, @function
previrt_site_entry:
	SAVE_GUEST_REGISTERS
	popq %rax
	movq %rax, RIP
	ENTER_VMM previrt_on_site
	.size previrt_site_entry, . - previrt_site_entry

/* From a para-virtual entry (abi/previrt/paravirt.h): its thunk pushed the
 * operation over the call's return address. */
	.globl previrt_pv_entry
	.type previrt_pv_entry, @function
previrt_pv_entry:
	SAVE_GUEST_REGISTERS
	popq %rax
	movq %rax, previrt_pv_op(%rip)
	popq %rax
	movq %rax, RIP
	ENTER_VMM previrt_on_pv
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

/* From a fast path that found an event pending: `call` left the return
 * address on the guest's stack, and the operation is done. */
	.globl previrt_pending_entry
	.type previrt_pending_entry, @function
previrt_pending_entry:
	SAVE_GUEST_REGISTERS
	popq %rax
	movq %rax, RIP
	ENTER_VMM previrt_on_pending
	.size previrt_pending_entry, . - previrt_pending_entry

/* The fast paths: what a rewritten sti, pushf or popf calls (through a thunk).
 * They are copied into the hole, to kFastCode (hole.h), and run there, next to
 * the hot page: an instruction that reaches the hot page is written out in
 * bytes, its RIP-relative displacement computed for where it runs. They keep
 * every register and flag of the guest's but what the instruction changes. */
#define HOLE_FAST 0x80000400
#define HOT_PAGE 0x80001000
#define AT(label) (HOLE_FAST + ((label) - previrt_hole_code))
/* disp32 from the end of the instruction at `next` to `target` */
#define RIPREL(target, next) .long (target) - AT(next)

	.section .rodata.previrt_hole, "a"
	.globl previrt_hole_code, previrt_hole_code_end, previrt_hole_sti, previrt_hole_pushf, previrt_hole_popf
	.globl previrt_hole_ret, previrt_hole_popf_flags_dead
previrt_hole_code:

/* Each fast path at a fixed offset (hole.h: fast_path_address), so that a
 * rewritten site calls it directly. */
#define FAST_PATH(index) .org previrt_hole_code + 0x40 * (index)

/* sti: the virtual IF on, then on through the continuation. */
	FAST_PATH(0)
previrt_hole_sti:
	.byte 0xc6, 0x05			/* movb $1, interrupt_flag(%rip) */
	RIPREL(HOT_PAGE + HOT_IF, 1f)
	.byte 1
1:	.byte 0xff, 0x25			/* jmp *continuation(%rip) */
	RIPREL(HOT_PAGE + HOT_CONTINUATION, 2f)
2:

/* pushf: rsp = r0 - 8, [r0 - 8] = R. Pushes the flags with IF = the virtual
 * IF: the host's flags always have IF set, so that is F - 0x200 + vIF * 0x200,
 * computed with lea, which leaves the flags alone. */
	FAST_PATH(1)
previrt_hole_pushf:
	pushfq				/* [r0-16] = F */
	pushq %rax
	pushq %rcx
	.byte 0x0f, 0xb6, 0x0d		/* movzbl interrupt_flag(%rip), %ecx */
	RIPREL(HOT_PAGE + HOT_IF, 3f)
3:	leaq (,%rcx,8), %rcx
	leaq (,%rcx,8), %rcx		/* vIF * 64 */
	movq 16(%rsp), %rax
	leaq -0x200(%rax,%rcx,8), %rax	/* the guest's flags */
	movq 24(%rsp), %rcx		/* R */
	movq %rax, 24(%rsp)		/* [r0-8] = the flags */
	movq %rcx, 16(%rsp)		/* [r0-16] = R */
	popq %rcx
	popq %rax
	ret

/* popf: [r0 - 8] = R, [r0] = V. The virtual IF from V, V into the flags
 * (without what is kept out of the host's), R at r0, and on. */
	FAST_PATH(2)
previrt_hole_popf:
	btq $9, 8(%rsp)
	.byte 0x0f, 0x92, 0x05		/* setc interrupt_flag(%rip) */
	RIPREL(HOT_PAGE + HOT_IF, 4f)
4:	andq $~FLAGS_KEPT_OUT, 8(%rsp)
	pushq %rax			/* [r0-16] = A */
	movq 8(%rsp), %rax		/* R */
	pushq 16(%rsp)			/* [r0-24] = V */
	movq %rax, 24(%rsp)		/* [r0] = R */
	movq 8(%rsp), %rax		/* A back */
	popfq				/* rsp = r0 - 16 */
	leaq 16(%rsp), %rsp		/* rsp = r0: [r0] = R */
	.byte 0xff, 0x25			/* jmp *continuation(%rip) */
	RIPREL(HOT_PAGE + HOT_CONTINUATION, 5f)
5:

/* popf where the rewriter found the status flags dead after the site: no
 * popfq, the slowest of the three. DF is the one flag it cannot leave: a V
 * with DF set takes the path above. */
	FAST_PATH(3)
previrt_hole_popf_flags_dead:
	testl $0x400, 8(%rsp)
	jnz previrt_hole_popf
	btq $9, 8(%rsp)
	.byte 0x0f, 0x92, 0x05		/* setc interrupt_flag(%rip) */
	RIPREL(HOT_PAGE + HOT_IF, 6f)
6:	pushq %rax
	movq 8(%rsp), %rax		/* R */
	movq %rax, 16(%rsp)		/* [r0] = R */
	popq %rax
	leaq 8(%rsp), %rsp		/* rsp = r0 */
	.byte 0xff, 0x25			/* jmp *continuation(%rip) */
	RIPREL(HOT_PAGE + HOT_CONTINUATION, 7f)
7:
	FAST_PATH(4)
previrt_hole_ret:
	ret
previrt_hole_code_end:

	.section .note.GNU-stack, "", @progbits
