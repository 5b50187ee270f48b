/* The first user-space program of the Linux boot test: says that user space
 * runs, with what the kernel passed it, and restarts the machine (QEMU, told
 * -no-reboot, then exits). Anywhere but as process 1 it only says so and
 * exits. Static, no C library: the kernel's system calls by number (x86-64:
 * write 1, getpid 39, exit 60, reboot 169). */
typedef unsigned long u64;

static long syscall3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static u64 length(const char* s) {
    u64 n = 0;
    while (s[n]) ++n;
    return n;
}

static void say(const char* s) { syscall3(1, 1, (long)s, (long)length(s)); }

void start(long* stack) {
    long argc = stack[0];
    char** argv = (char**)(stack + 1);
    say("previrt-linux-init: user space runs as ");
    say(argc > 0 ? argv[0] : "?");
    say("\n");
    if (syscall3(39, 0, 0, 0) != 1) {
        say("previrt-linux-init: not process 1, so not restarting the machine\n");
        syscall3(60, 1, 0, 0);
    }
    /* LINUX_REBOOT_MAGIC1, MAGIC2, LINUX_REBOOT_CMD_RESTART */
    syscall3(169, 0xfee1dead, 0x28121969, 0x01234567);
    for (;;) {}
}

__asm__(".text\n.globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start\n\thlt\n");
