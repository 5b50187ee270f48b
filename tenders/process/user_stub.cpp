#include "tenders/process/user_stub.h"

#include <cpuid.h>
#include <elf.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <vector>

#include "previrt/guest_layout.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // linux/memfd.h since 6.3
#endif

// The stub, assembled here and copied into the child's image; it never runs in
// this process. It has no stack and no constants of its own: the parent sets
// the registers it works with.
//
// begin: the ELF entry, run once. r14 = the request area, r15 = its size,
//        r13 = the image's fd, r12 = the area's offset in the image; once
//        mapped, the area starts with the set-up block (SetupBlock below).
//        rbp = 0 on a host with protection keys, else ~0; it ends with rbp =
//        the stub's PKRU (exec's, denying data access to the code page) or ~0.
// batch: r14, r15 as above, r12 = the requests' count, r13 = the memory fd,
//        rbp = what set-up left there; rbx walks the requests. User code may
//        have changed PKRU (even denied key 0, the request area's): the batch
//        sets the stub's first, and leaves it for user code.
// Both end on int3 with the area PROT_NONE; a failing call ends on ud2 with
// rax = -errno and, in a batch, rbx at the failing request (0 before the
// first, the area's end after the last).
asm(R"(
    .pushsection .rodata.previrt_user_stub, "a", @progbits
    .globl previrt_user_stub_begin, previrt_user_stub_batch, previrt_user_stub_end
    .hidden previrt_user_stub_begin, previrt_user_stub_batch, previrt_user_stub_end
previrt_user_stub_begin:
    mov $9, %eax                # mmap(r14, r15, PROT_READ, MAP_SHARED | MAP_FIXED, r13, r12)
    mov %r14, %rdi
    mov %r15, %rsi
    mov $1, %edx
    mov $0x11, %r10d
    mov %r13, %r8
    mov %r12, %r9
    syscall
    cmp %rdi, %rax
    jne 9f
    mov %r14, %rbx
    mov $3, %eax                # close(r13): the image's fd
    mov %r13, %rdi
    syscall
    test %rax, %rax
    jnz 9f
    mov $11, %eax               # munmap below the stub: vdso and vvar may be there
    mov 0(%rbx), %rdi
    mov 8(%rbx), %rsi
    syscall
    test %rax, %rax
    jnz 9f
    mov $11, %eax               # munmap above the stub: exec's stack, vdso and vvar
    mov 16(%rbx), %rdi
    mov 24(%rbx), %rsi
    syscall
    test %rax, %rax
    jnz 9f
    mov $157, %eax              # prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), which seccomp needs
    mov $38, %edi
    mov $1, %esi
    xor %edx, %edx
    xor %r10d, %r10d
    xor %r8d, %r8d
    syscall
    test %rax, %rax
    jnz 9f
    mov $317, %eax              # seccomp(SECCOMP_SET_MODE_FILTER, 0, program)
    mov $1, %edi
    xor %esi, %esi
    mov 32(%rbx), %rdx
    syscall
    test %rax, %rax
    jnz 9f
    bt $63, %rbp                # no protection keys: rbp stays ~0
    jc 3f
    xor %ecx, %ecx              # rbp = rdpkru(): the stub's PKRU, for its batches
    rdpkru
    mov %eax, %ebp
    jmp 3f
previrt_user_stub_batch:
    bt $63, %rbp                # no protection keys: no PKRU
    jc 5f
    xor %ecx, %ecx              # wrpkru(ebp): undo whatever user code set
    xor %edx, %edx
    mov %ebp, %eax
    wrpkru
5:
    mov $10, %eax               # mprotect(r14, r15, PROT_READ): the requests become readable
    mov %r14, %rdi
    mov %r15, %rsi
    mov $1, %edx
    syscall
    test %rax, %rax
    jnz 9f
    mov %r14, %rbx
1:  test %r12, %r12
    jz 3f
    mov 0(%rbx), %rdi           # va
    mov 8(%rbx), %rsi           # length
    cmpl $0, 28(%rbx)           # op: 0 munmap, 1 mmap
    je 2f
    mov $9, %eax                # mmap(va, length, prot, MAP_SHARED | MAP_FIXED, memory fd, pa)
    mov 24(%rbx), %edx
    mov $0x11, %r10d
    mov %r13, %r8
    mov 16(%rbx), %r9
    syscall
    cmp %rdi, %rax
    jne 9f
    jmp 4f
2:  mov $11, %eax               # munmap(va, length)
    syscall
    test %rax, %rax
    jnz 9f
4:  add $32, %rbx
    dec %r12
    jmp 1b
3:  mov $10, %eax               # mprotect(r14, r15, PROT_NONE): unreadable while user code runs
    mov %r14, %rdi
    mov %r15, %rsi
    xor %edx, %edx
    syscall
    test %rax, %rax
    jnz 9f
    int3
9:  ud2
previrt_user_stub_end:
    .popsection
)");

extern "C" const unsigned char previrt_user_stub_begin[], previrt_user_stub_batch[], previrt_user_stub_end[];

namespace previrt::vmm::process::stub {
namespace {

static_assert(__NR_mmap == 9 && __NR_mprotect == 10 && __NR_munmap == 11 && __NR_close == 3 && __NR_prctl == 157 &&
              __NR_seccomp == 317);
static_assert(PROT_NONE == 0 && PROT_READ == 1 && (MAP_SHARED | MAP_FIXED) == 0x11 && PR_SET_NO_NEW_PRIVS == 38 &&
              SECCOMP_SET_MODE_FILTER == 1);
static_assert(sizeof(Request) == 32 && offsetof(Request, pa) == 16 && offsetof(Request, prot) == 24 &&
              offsetof(Request, op) == 28);

// The image's first page: ELF header and program headers, then the code.
constexpr uint64_t kCodeOffset = 0x100;
// The top of user space with 4-level paging (TASK_SIZE_MAX in the kernel's
// arch/x86/include/asm/page_64_types.h); exec puts the stack and vdso below it
// with 5-level paging too.
constexpr uint64_t kTaskEnd = 0x7fff'ffff'f000;
constexpr int kErrorFd = 5;             // the child's end of the error pipe, closed by exec
constexpr uint64_t kStubFlags = 0x202;  // IF and the always-one bit: no TF left over from user code

uint64_t address_of(const unsigned char* label) {
    return kCodePage + kCodeOffset + static_cast<uint64_t>(label - previrt_user_stub_begin);
}

// After set-up the child may call mmap, mprotect and munmap from the stub's
// code page and nothing else; all other calls raise SIGSYS. Under
// PTRACE_SYSEMU user code never gets this far (its `syscall` stops first,
// even one in the stub's page); the filter catches what bypasses ptrace: the
// kernel's vsyscall emulation.
constexpr uint32_t kIpLow = offsetof(seccomp_data, instruction_pointer), kIpHigh = kIpLow + 4;
constexpr std::array<sock_filter, 13> kFilter = {{
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),             // 0
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 9),                 // 1: else 11
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),               // 2
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 2, 0),                         // 3: then 6
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_munmap, 1, 0),                       // 4: then 6
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 0, 5),                     // 5: else 11
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpHigh),                                  // 6
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kCodePage >> 32, 0, 3),                   // 7: else 11
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLow),                                   // 8
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, static_cast<uint32_t>(~(kPage - 1))),     // 9
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(kCodePage), 1, 0),  // 10: then 12
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),                                  // 11
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                                 // 12
}};

struct ChildProgram {  // struct sock_fprog as the child sees it
    uint16_t length;
    uint64_t filter;
};
static_assert(sizeof(ChildProgram) == sizeof(sock_fprog) &&
              offsetof(ChildProgram, filter) == offsetof(sock_fprog, filter));

// What set-up reads from the start of the request area, at the offsets in
// its comments.
struct SetupBlock {
    uint64_t below_begin, below_length, above_begin, above_length, program;
    ChildProgram fprog;
    sock_filter filter[kFilter.size()];
};
static_assert(offsetof(SetupBlock, program) == 32 && sizeof(SetupBlock) <= kRequestBytes);

// The child's executable: one PT_LOAD of this page at kCodePage, execute only.
std::vector<unsigned char> build_image() {
    std::vector<unsigned char> image(kPage);
    const size_t code_size = static_cast<size_t>(previrt_user_stub_end - previrt_user_stub_begin);
    if (kCodeOffset + code_size > kPage) throw std::logic_error("user_stub: the stub outgrew its page");

    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_EXEC;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_entry = address_of(previrt_user_stub_begin);
    header.e_phoff = sizeof(Elf64_Ehdr);
    header.e_ehsize = sizeof(Elf64_Ehdr);
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = 2;
    Elf64_Phdr segments[2]{};
    // PF_X alone is mmap's PROT_EXEC alone: on a host with protection keys
    // Linux gives the page a key whose data access PKRU denies (user_space.h).
    segments[0].p_type = PT_LOAD;
    segments[0].p_flags = PF_X;
    segments[0].p_vaddr = segments[0].p_paddr = kCodePage;
    segments[0].p_filesz = segments[0].p_memsz = kPage;
    segments[0].p_align = kPage;
    // Without PT_GNU_STACK, exec may give the process READ_IMPLIES_EXEC.
    segments[1].p_type = PT_GNU_STACK;
    segments[1].p_flags = PF_R | PF_W;
    static_assert(sizeof header + sizeof segments <= kCodeOffset);
    std::memcpy(image.data(), &header, sizeof header);
    std::memcpy(image.data() + sizeof header, segments, sizeof segments);
    std::memcpy(image.data() + kCodeOffset, previrt_user_stub_begin, code_size);
    return image;
}

[[noreturn]] void child_fail(int error_fd, int step) {
    const ChildFailure failure{step, errno};
    if (write(error_fd, &failure, sizeof failure) < 0) _exit(126);
    _exit(127);
}

constexpr const char* kChildSteps[] = {
    "prctl(PR_SET_PDEATHSIG)", "sigprocmask", "fcntl(F_DUPFD)", "dup2", "close_range", "execveat of the stub image"};

// CR4.PKE on this host, as CPUID reports it (OSPKE): rdpkru and wrpkru work.
bool host_has_protection_keys() {
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ecx & bit_OSPKE);
}

}  // namespace

int create_image(const char*& what) {
    int fd = memfd_create("previrt-user-stub", MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = memfd_create("previrt-user-stub", MFD_CLOEXEC);  // before 6.3
    if (fd < 0) {
        what = "memfd_create";
        return -1;
    }
    const std::vector<unsigned char> image = build_image();
    what = "ftruncate";
    if (ftruncate(fd, static_cast<off_t>(kPage + kRequestBytes)) == 0) {
        what = "pwrite";
        if (pwrite(fd, image.data(), image.size(), 0) == static_cast<ssize_t>(image.size())) return fd;
    }
    const int err = errno;
    close(fd);
    errno = err;
    return -1;
}

[[noreturn]] void exec_child(int go_fd, int error_fd, int memory_fd, int image_fd, pid_t parent) {
    char go;
    if (read(go_fd, &go, 1) != 1) _exit(127);  // the parent gave up
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(error_fd, 0);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    // A blocked or ignored interrupt signal would survive exec.
    if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) child_fail(error_fd, 1);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigaction(kInterruptSignal, &default_action, nullptr);
    personality(PER_LINUX);
    // Copies above the targets first, so no dup2 closes a source.
    const int memory = fcntl(memory_fd, F_DUPFD, 10), image = fcntl(image_fd, F_DUPFD, 10);
    const int error = fcntl(error_fd, F_DUPFD_CLOEXEC, 10);
    if (memory < 0 || image < 0 || error < 0) child_fail(error_fd, 2);
    if (dup2(memory, kMemoryFd) != kMemoryFd || dup2(image, kImageFd) != kImageFd ||
        dup3(error, kErrorFd, O_CLOEXEC) != kErrorFd)
        child_fail(error, 3);
    if (syscall(SYS_close_range, 0, 2, 0) != 0 || syscall(SYS_close_range, kErrorFd + 1, ~0U, 0) != 0)
        child_fail(kErrorFd, 4);
    char name[] = "previrt-user";
    char* const argv[] = {name, nullptr};
    char* const envp[] = {nullptr};
    syscall(SYS_execveat, kImageFd, "", argv, envp, AT_EMPTY_PATH);
    child_fail(kErrorFd, 5);
}

const char* child_step(int step) {
    return step >= 0 && step < static_cast<int>(std::size(kChildSteps)) ? kChildSteps[step] : nullptr;
}

void prepare_setup(user_regs_struct& regs, void* area) {
    constexpr uint64_t kChildBlock = kRequestArea;  // where the child sees the block
    SetupBlock block{.below_begin = 0,
                     .below_length = kCodePage,
                     .above_begin = kUserStubEnd,
                     .above_length = kTaskEnd - kUserStubEnd,
                     .program = kChildBlock + offsetof(SetupBlock, fprog),
                     .fprog = {static_cast<uint16_t>(kFilter.size()), kChildBlock + offsetof(SetupBlock, filter)},
                     .filter = {}};
    std::copy(kFilter.begin(), kFilter.end(), block.filter);
    std::memcpy(area, &block, sizeof block);
    regs.rip = address_of(previrt_user_stub_begin);
    regs.r12 = kPage, regs.r13 = kImageFd, regs.r14 = kRequestArea, regs.r15 = kRequestBytes;
    regs.rbp = host_has_protection_keys() ? 0 : ~0ULL;
    regs.eflags = kStubFlags;
}

uint64_t setup_result(const user_regs_struct& regs) { return regs.rbp; }

void prepare_batch(user_regs_struct& regs, size_t count, uint64_t setup) {
    regs.rip = address_of(previrt_user_stub_batch);
    regs.rbp = setup;
    regs.rbx = 0, regs.r12 = count, regs.r13 = kMemoryFd, regs.r14 = kRequestArea, regs.r15 = kRequestBytes;
    // orig_rax: no system call the kernel could restart (see load() in user_space.cpp).
    regs.eflags = kStubFlags, regs.orig_rax = ~0ULL;
}

size_t failed_request(const user_regs_struct& regs, size_t count) {
    if (regs.rbx < kRequestArea) return count;
    const uint64_t index = (regs.rbx - kRequestArea) / sizeof(Request);
    return index < count ? index : count;
}

uint64_t code_offset(uint64_t rip) { return rip - kCodePage - kCodeOffset; }

}  // namespace previrt::vmm::process::stub
