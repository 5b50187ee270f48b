/* User-program entry. The kernel enters in ring 3 with rdi = the spawn argument
 * and rsp = the top of the user stack; other registers are unspecified, so
 * nothing here relies on them. */

#define SYS_EXIT 2  /* guest::sys::kExit */

	.section .text._start, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	xorl %ebp, %ebp          /* the end of the frame-pointer chain, for debuggers */
	cld                      /* the System V ABI promises DF = 0 at calls; rep movsb relies on it */
	andq $-16, %rsp          /* the ABI wants rsp 16-aligned at each call */
	call main                /* int main(uint64_t arg): arg is already in rdi */
	movslq %eax, %rdi
	movl $SYS_EXIT, %eax
	syscall
	ud2                      /* exit returned: a fault ends the process all the same */
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
