// The liar's 64-bit entry (abi/previrt/boot_info.h): rdi and rsi as the
// protocol hands them, on the boot stack.
    .section .note.previrt, "a"
    .balign 4
    .long 8
    .long 8
    .long 1
    .asciz "previrt"
    .balign 4
    .quad liar_entry

    .text
    .globl liar_entry
liar_entry:
    and $-16, %rsp
    call liar_main
1:  hlt
    jmp 1b
    .section .note.GNU-stack, "", @progbits
