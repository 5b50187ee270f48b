/* The sample's C entry point: calls everything so nothing is discarded. */
#include <stdint.h>

void uart_putc(char c);
void irqsave_increment(void);
void map_page(unsigned index, uint64_t frame);
void switch_address_space(uint64_t root);
void enable_syscalls(uint64_t entry);
uint32_t lapic_eoi_and_version(void);
void lapic_timer_set(uint32_t count);
uint64_t cpu_features_and_time(void);
void idle(void);
void syscall_entry(void);

void main_loop_c(void) {
    const char* s = "hello\n";
    while (*s) uart_putc(*s++);
    irqsave_increment();
    map_page(1, 0x200000);
    switch_address_space(0x1000);
    enable_syscalls((uint64_t)(uintptr_t)syscall_entry);
    lapic_timer_set(lapic_eoi_and_version());
    (void)cpu_features_and_time();
    for (;;) idle();
}
