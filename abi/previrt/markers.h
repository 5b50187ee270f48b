/* Manual markers: sites no scan can find. A memory-mapped device register or a
 * page-table entry is written with an ordinary mov, which looks like any other;
 * these wrappers make that mov a site of its own kind (mmio_read, mmio_write,
 * page_table_write), padded and recorded exactly like a sensitive instruction,
 * so an in-place VMM can turn it into a call to its device model or its
 * page-table shadow. On bare hardware the mov runs as written.
 *
 * C and C++, freestanding. Records are finished (operands filled in, put in
 * a note) by the afterburner's assembler hook; an object assembled
 * without it fails `previrt inspect`. A para-virtualized build
 * (PREVIRT_PARAVIRT, PREVIRT_PARAVIRT_KVM), which has no sites, gets the plain
 * mov. */
#ifndef PREVIRT_MARKERS_H
#define PREVIRT_MARKERS_H

#include <stdint.h>

#include "previrt/site_asm.h"

/* SiteKind values and flags from site_record.h, repeated for C. */
#define PREVIRT_KIND_MMIO_READ 128
#define PREVIRT_KIND_MMIO_WRITE 129
#define PREVIRT_KIND_PAGE_TABLE_WRITE 130
#define PREVIRT_FLAG_MANUAL 32
#define PREVIRT_MARKED_SITE_LENGTH 16

#if !defined(PREVIRT_PARAVIRT) && !defined(PREVIRT_PARAVIRT_KVM)
#define PREVIRT_MARKED_(kind, insn) \
    PREVIRT_SITE_BEGIN insn ";" PREVIRT_SITE_END(kind, PREVIRT_FLAG_MANUAL, PREVIRT_MARKED_SITE_LENGTH)
#else
#define PREVIRT_MARKED_(kind, insn) insn
#endif

#define PREVIRT_DEFINE_MMIO_(bits, suffix)                                                           \
    static inline uint##bits##_t previrt_mmio_read##bits(const volatile void* reg) {                \
        uint##bits##_t value;                                                                        \
        __asm__ __volatile__(PREVIRT_MARKED_(PREVIRT_KIND_MMIO_READ, "mov" suffix " %1, %0")        \
                             : "=r"(value)                                                           \
                             : "m"(*(const volatile uint##bits##_t*)reg)                             \
                             : "memory");                                                            \
        return value;                                                                                \
    }                                                                                                \
    static inline void previrt_mmio_write##bits(volatile void* reg, uint##bits##_t value) {         \
        __asm__ __volatile__(PREVIRT_MARKED_(PREVIRT_KIND_MMIO_WRITE, "mov" suffix " %1, %0")       \
                             : "=m"(*(volatile uint##bits##_t*)reg)                                  \
                             : "r"(value)                                                            \
                             : "memory");                                                            \
    }

PREVIRT_DEFINE_MMIO_(8, "b")
PREVIRT_DEFINE_MMIO_(16, "w")
PREVIRT_DEFINE_MMIO_(32, "l")
PREVIRT_DEFINE_MMIO_(64, "q")

/* Stores a page-table entry. */
static inline void previrt_write_pte(volatile uint64_t* entry, uint64_t value) {
    __asm__ __volatile__(PREVIRT_MARKED_(PREVIRT_KIND_PAGE_TABLE_WRITE, "movq %1, %0")
                         : "=m"(*entry)
                         : "r"(value)
                         : "memory");
}

#endif
