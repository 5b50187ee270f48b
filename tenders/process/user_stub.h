// The stub: the only code of its own the user-mode child holds (user_space.h).
// The child is exec'd from an image in a memfd: a one-page ELF whose single
// PT_LOAD is the stub's code page, followed in the same memfd by the request
// area, which the stub maps shared and the parent writes through its own map.
//
// In the child, at kUserStubBase (user_space.h says why there):
//   kCodePage     the ELF headers and the stub's code, PROT_EXEC only
//   kRequestArea  the request area, PROT_NONE except while the stub runs
//
// Two entry points, both run by the parent under PTRACE_CONT and both ending on
// int3 (a failing host call ends on ud2 instead, with rax = -errno):
//   set-up  once, from exec's stop: maps the request area (which holds the
//           set-up block), closes the image's fd, unmaps everything exec put
//           outside the stub, installs the seccomp filter.
//   batch   sets PKRU back to the stub's (user code may have changed it), then
//           applies the mmap/munmap requests the parent wrote into the area.
// Both make the area PROT_NONE before their int3: user code never finds it
// readable.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "tenders/process/user_space.h"

struct user_regs_struct;

namespace previrt::vmm::process::stub {

inline constexpr uint64_t kPage = 4096;
inline constexpr uint64_t kCodePage = kUserStubBase;
inline constexpr uint64_t kRequestArea = kCodePage + kPage;
inline constexpr uint64_t kRequestBytes = 4 * kPage;
static_assert(kRequestArea + kRequestBytes == kUserStubEnd);

// The child's descriptors: the guest memory stays, the image goes in set-up.
inline constexpr int kMemoryFd = 3, kImageFd = 4;
// What UserSpace::interrupt() sends; the child starts with it unblocked.
inline constexpr int kInterruptSignal = SIGUSR1;

// One mmap (of the guest memory) or munmap; the batch's assembly reads these
// offsets.
enum : uint32_t { kUnmap = 0, kMap = 1 };
struct Request {
    uint64_t va, length, pa;
    uint32_t prot, op;
};
inline constexpr size_t kRequestCapacity = kRequestBytes / sizeof(Request);

// A memfd holding the image and, at offset kPage, the request area. Returns
// the fd (close-on-exec), or -1 with errno set and `what` naming the call.
int create_image(const char*& what);

// The forked child up to exec: async-signal-safe calls only. It waits for a
// byte on go_fd (the parent's PTRACE_SEIZE is in place by then), moves the
// guest memory to kMemoryFd and the image to kImageFd, closes everything
// else and execs the image. On failure it writes a ChildFailure to error_fd.
struct ChildFailure {
    int step, error;
};
[[noreturn]] void exec_child(int go_fd, int error_fd, int memory_fd, int image_fd, pid_t parent);
const char* child_step(int step);  // nullptr for an unknown step

// Registers that start the set-up at exec's stop (regs hold that stop's), and
// the set-up block it reads, written into the parent's map of the area.
void prepare_setup(user_regs_struct& regs, void* area);
// What each batch needs from the set-up (the stub's PKRU), from the registers
// at its int3.
uint64_t setup_result(const user_regs_struct& regs);
// Registers that start a batch of `count` requests, already in the area.
void prepare_batch(user_regs_struct& regs, size_t count, uint64_t setup);
// After a ud2 in a batch: which request failed.
size_t failed_request(const user_regs_struct& regs, size_t count);
// Where rip is, as an offset into the stub's code (for diagnostics).
uint64_t code_offset(uint64_t rip);

}  // namespace previrt::vmm::process::stub
