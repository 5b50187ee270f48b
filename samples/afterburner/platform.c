/* Sample guest code in C: the platform accesses a small kernel makes, written
 * with inline assembly the way kernels write them, knowing nothing of previrt
 * except the markers for device registers and page-table entries. Built
 * through the afterburner, every sensitive instruction becomes a site. */
#include <stdint.h>

#include "previrt/markers.h"

static inline uint64_t save_flags_and_cli(void) {
    uint64_t flags;
    __asm__ __volatile__("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
    return flags;
}

static inline void restore_flags(uint64_t flags) {
    __asm__ __volatile__("pushq %0\n\tpopfq" : : "r"(flags) : "memory", "cc");
}

static inline void outb(uint16_t port, uint8_t value) { __asm__ __volatile__("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v) {
    __asm__ __volatile__("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t read_cr3(void) {
    uint64_t v;
    __asm__ __volatile__("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline void write_cr3(uint64_t v) { __asm__ __volatile__("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void invlpg(const void* p) { __asm__ __volatile__("invlpg (%0)" : : "r"(p) : "memory"); }

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t* a, uint32_t* b, uint32_t* c, uint32_t* d) {
    __asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

volatile uint64_t spin_word;
volatile uint32_t* const lapic = (volatile uint32_t*)0xfee00000;
volatile uint64_t page_table[512] __attribute__((aligned(4096)));

void uart_putc(char c) {
    while (!(inb(0x3f8 + 5) & 0x20)) {}
    outb(0x3f8, (uint8_t)c);
}

void irqsave_increment(void) {
    uint64_t flags = save_flags_and_cli();
    spin_word++;
    restore_flags(flags);
}

void map_page(unsigned index, uint64_t frame) {
    previrt_write_pte(&page_table[index], frame | 3);
    invlpg((const void*)(uintptr_t)(index << 12));
}

void switch_address_space(uint64_t root) {
    if (read_cr3() != root) write_cr3(root);
}

void enable_syscalls(uint64_t entry) {
    wrmsr(0xc0000080, rdmsr(0xc0000080) | 1);  /* EFER.SCE */
    wrmsr(0xc0000082, entry);                  /* LSTAR */
}

uint32_t lapic_eoi_and_version(void) {
    previrt_mmio_write32((volatile void*)(lapic + 0xb0 / 4), 0);
    return previrt_mmio_read32((const volatile void*)(lapic + 0x30 / 4));
}

/* A device-register access nobody marked: only a trap profile finds it. */
void lapic_timer_set(uint32_t count) { lapic[0x380 / 4] = count; }

uint64_t cpu_features_and_time(void) {
    uint32_t a, b, c, d;
    cpuid(1, &a, &b, &c, &d);
    return ((uint64_t)c << 32 | d) ^ rdtsc();
}

void idle(void) { __asm__ __volatile__("sti; hlt" ::: "memory"); }
