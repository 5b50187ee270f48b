// The liar's 64-bit entry (abi/previrt/boot_info.h): rdi and rsi as the
// protocol hands them, on the boot stack.
#include "previrt/note.h"

    previrt_entry64_note liar_entry

    .text
    .globl liar_entry
liar_entry:
    and $-16, %rsp
    call liar_main
1:  hlt
    jmp 1b
    .section .note.GNU-stack, "", @progbits
