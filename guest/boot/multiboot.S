/* Boot: the Multiboot header (with the a.out address fields, so that a loader
 * takes the ELF64 file as a flat image at 1 MiB), the 32-bit entry that builds
 * boot page tables and enters long mode, and the 64-bit entry for monitors
 * that start the guest in long mode directly (abi/previrt/boot_info.h). */

#define KERNEL_BASE 0x40000000
#define PHYS(sym) ((sym) - KERNEL_BASE)

/* Multiboot Specification 0.6.96, 3.1.1: magic, flags (page-aligned modules,
 * memory information, address fields valid), checksum. */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010003

	.section .multiboot, "a"
	.balign 4
multiboot_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long PHYS(multiboot_header)	/* header_addr */
	.long __kernel_start_phys	/* load_addr */
	.long __load_end_phys		/* load_end_addr */
	.long __kernel_end_phys		/* bss_end_addr */
	.long PHYS(boot32)		/* entry_addr */

#include "arch/x86_64/sensitive.h"
#include "previrt/note.h"

/* The 64-bit entry's address, for monitors: an ELF note. */
	previrt_entry64_note previrt_entry64

/* Boot page tables: the first GiB identity-mapped (to survive the switch) and
 * at KERNEL_BASE (the kernel window), with 2 MiB pages. */
	.section .bss
	.balign 4096
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096
	.balign 16
boot_stack:	.skip 16384
	.globl boot_stack_top
boot_stack_top:

	.section .rodata
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 (Intel SDM Vol. 3A, 3.4.5) */
	.quad 0x00cf92000000ffff	/* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_pointer:
	.word boot_gdt_end - boot_gdt - 1
	.quad PHYS(boot_gdt)

	.section .text.boot32, "ax"
	.code32
	.globl boot32, boot32_phys
	.set boot32_phys, PHYS(boot32)
boot32:
	cli
	cld
	movl %eax, %edi			/* Multiboot magic and information, for kernel_main */
	movl %ebx, %esi
	movl $PHYS(boot_stack_top), %esp

	movl $PHYS(boot_pml4), %ebx
	movl %ebx, %edx
	xorl %eax, %eax
	movl $(3 * 4096 / 4), %ecx
	pushl %edi
	movl %edx, %edi
	rep stosl
	popl %edi

	movl $PHYS(boot_pdpt) + 3, PHYS(boot_pml4)		/* present, writable */
	movl $PHYS(boot_pd) + 3, PHYS(boot_pdpt)		/* 0 .. 1 GiB */
	movl $PHYS(boot_pd) + 3, PHYS(boot_pdpt) + 8		/* KERNEL_BASE .. +1 GiB */
	movl $0x83, %eax					/* present, writable, 2 MiB page */
	movl $PHYS(boot_pd), %edx
	movl $512, %ecx
1:	movl %eax, (%edx)
	addl $0x200000, %eax
	addl $8, %edx
	loop 1b

	movl %cr4, %eax
	orl $0x20, %eax			/* CR4.PAE */
	movl %eax, %cr4
	movl %ebx, %cr3
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $0x100, %eax		/* EFER.LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* CR0.PG | CR0.PE */
	movl %eax, %cr0
	lgdt PHYS(boot_gdt_pointer)
	ljmp $0x08, $PHYS(boot64_low)

	.code64
boot64_low:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movq $boot64_high, %rax
	jmp *%rax

/* 64-bit entry (abi/previrt/boot_info.h): rdi = boot magic, rsi = BootInfo. */
	.text
boot64_high:
	movl %edi, %edi			/* from 32-bit code the upper halves are undefined */
	movl %esi, %esi
	.globl previrt_entry64
	.type previrt_entry64, @function
previrt_entry64:
	arch_cli
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	call kernel_main
2:	arch_hlt
	jmp 2b
	.size previrt_entry64, . - previrt_entry64

	.section .note.GNU-stack, "", @progbits
