/* The assembler text that opens and closes a site. The afterburner's assembler
 * hook inserts it around every sensitive instruction it finds; the manual
 * markers (markers.h) wrap their instruction in the same text, so both produce
 * records of the one layout described in site_record.h.
 *
 * C and C++, host and freestanding: it is only string literals.
 *
 * The labels are redefined at every site with .set, which GNU as resolves per
 * use, so the text works unchanged inside .macro and .rept bodies and never
 * collides with the program's own labels. Records are 32 bytes and nothing
 * else goes into their section, so they stay aligned without a .balign (which
 * costs GNU as a frag at every site); the hook gives the section its alignment
 * when it finishes the object. The record starts out Unclassified
 * (or with the marker's kind); the hook fills in the operands after assembly
 * and puts the records in a note (site_record.h). */
#ifndef PREVIRT_SITE_ASM_H
#define PREVIRT_SITE_ASM_H

#define PREVIRT_SITE_BEGIN ".set .Lprevirt_s, .;"

/* Pads from the end of the instruction to `length` bytes in all (none where the
 * instruction is as long already) and appends the record. Only 64-bit code gets
 * the multi-byte NOP forms: in 16-bit code GNU as lays out .nops with 32-bit
 * forms, and for an i386 target (as --32) it picks lea forms that are no NOPs,
 * so 16- and 32-bit code is padded with single-byte NOPs. */
#define PREVIRT_SITE_PAD_NOPS_(length) \
    ".nops ((" #length ") - (.Lprevirt_e - .Lprevirt_s)) & ((.Lprevirt_e - .Lprevirt_s) < (" #length "));"
#define PREVIRT_SITE_PAD_BYTES_(length) \
    ".skip ((" #length ") - (.Lprevirt_e - .Lprevirt_s)) & ((.Lprevirt_e - .Lprevirt_s) < (" #length ")), 0x90;"

#define PREVIRT_SITE_RECORD_(kind, flags) \
    ".set .Lprevirt_z, .;" \
    ".pushsection .note.previrt.sites,\"a?\",@note;" \
    ".long .Lprevirt_s - .;" \
    ".byte .Lprevirt_e - .Lprevirt_s, .Lprevirt_z - .Lprevirt_s, " #kind ", " #flags ";" \
    ".zero 24;" \
    ".popsection;"

#define PREVIRT_SITE_END(kind, flags, length) \
    ".set .Lprevirt_e, .;" PREVIRT_SITE_PAD_NOPS_(length) PREVIRT_SITE_RECORD_(kind, flags)
#define PREVIRT_SITE_END_LEGACY(kind, flags, length) \
    ".set .Lprevirt_e, .;" PREVIRT_SITE_PAD_BYTES_(length) PREVIRT_SITE_RECORD_(kind, flags)
/* A site without scratch space: the instruction alone, recorded. */
#define PREVIRT_SITE_END_NO_ROOM(kind, flags) ".set .Lprevirt_e, .;" PREVIRT_SITE_RECORD_(kind, flags)

/* A code-mode record: from here on this section holds code of the given mode
 * (flags 0: 64-bit, 1: 32-bit, 2: 16-bit). */
#define PREVIRT_CODE_MODE(flags) \
    ".set .Lprevirt_s, .;" \
    ".pushsection .note.previrt.sites,\"a?\",@note;" \
    ".long .Lprevirt_s - .;" \
    ".byte 0, 0, 255, " #flags ";" \
    ".zero 24;" \
    ".popsection;"

#endif
