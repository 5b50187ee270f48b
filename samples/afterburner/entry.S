/* Sample guest entry code: preprocessed assembler with the constructs real
 * kernels feed the assembler (macros, .rept, section stacks, several
 * statements per line, prefixes, 32- and 16-bit code), each sensitive
 * instruction of which the afterburner must find. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define MSR_GS_BASE 0xc0000101

/* A macro that touches a control register: padded at each expansion. */
.macro load_cr reg:req, value:req
	mov \value, %rax
	mov %rax, %cr\reg
.endm

.macro save_segments
	push %fs ; push %gs        # segment pushes, two to a line
.endm

	.section .text.boot32, "ax", @progbits
	.code32
	.globl boot32
boot32:
	cli
	lgdt gdt_pointer
	movl %cr4, %eax
	orl $0x20, %eax                 // PAE
	movl %eax, %cr4
	movl $0xc0000080, %ecx; rdmsr; orl $0x100, %eax; wrmsr
	ljmp $KERNEL_CS, $_start

	.code16
realmode_stub:
	cli ; hlt

	.code64
	.text
	.globl _start
	.type _start, @function
_start:
	load_cr 3, $0x1000
	load_cr 0, $0x80000011
	lidt idt_pointer
	movw $KERNEL_DS, %ax
	movw %ax, %ds ; mov %ax, %es
	mov %ax, %ss
	ltr %ax
	save_segments
	pop %gs
	pop %fs
	call main_loop
	.size _start, . - _start

	.type main_loop, @function
main_loop:
1:	sti                            /* interrupts on */
	hlt
	cli
	jmp 1b
	.size main_loop, . - main_loop

	.type syscall_entry, @function
	.globl syscall_entry
syscall_entry:
	swapgs
	movq %rsp, %gs:0x10
	pushfq
	popfq
	swapgs
	sysretq
	.size syscall_entry, . - syscall_entry

	.type interrupt_return, @function
interrupt_return:
	.rept 2
	inb $0x21, %al
	.endr
	movb $0x20, %al; outb %al, $0x20
	lock incl irq_count(%rip)
	iretq
	.size interrupt_return, . - interrupt_return

	.type port_string_io, @function
port_string_io:
	mov $0x3f8, %dx
	rep
	outsb
	rep insw
	data16 outsl
	.size port_string_io, . - port_string_io

	.type segment_games, @function
segment_games:
	str %ax
	sldt %ax
	sgdt gdt_pointer(%rip)
	smsw %eax
	lar %ax, %bx
	movl $MSR_GS_BASE, %ecx
	rdmsr
	mov %ds, %eax
	lretq
	.size segment_games, . - segment_games

	.pushsection .text.unlikely, "ax", @progbits
	.type panic_halt, @function
panic_halt:
	cli
	hlt
	jmp panic_halt
	.size panic_halt, . - panic_halt
	.popsection

	.data
gdt_pointer:	.word 0; .quad 0
idt_pointer:	.word 0; .quad 0
irq_count:	.long 0

	.section .note.GNU-stack, "", @progbits
