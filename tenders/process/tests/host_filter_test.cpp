// The host filter in a child process: a system call from guest code traps,
// the VMM's own calls pass, anything else fails with EPERM.
#include "tenders/process/host_filter.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace previrt::vmm::process {
namespace {

volatile sig_atomic_t sigsys_number = -1;

void on_sigsys(int, siginfo_t* info, void* context) {
    sigsys_number = info->si_syscall;
    // Return past the call, as if it had done nothing.
    (void)context;
}

// Runs `body` in a child under the filter; its exit status is the result.
int in_filtered_child(int (*body)()) {
    pid_t pid = fork();
    if (pid == 0) {
        std::string error;
        if (!install_host_filter(error)) _exit(100);
        _exit(body());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

TEST(HostFilterTest, TheVmmsCallsPassOthersFail) {
    EXPECT_EQ(in_filtered_child([] { return getpid() > 0 && write(2, "", 0) == 0 ? 0 : 1; }), 0);
    EXPECT_EQ(in_filtered_child([] {
                  int fd = open("/dev/null", O_RDONLY);
                  return fd < 0 && errno == EPERM ? 0 : 1;
              }),
              0);
    EXPECT_EQ(in_filtered_child([] { return execl("/bin/true", "true", nullptr) < 0 && errno == EPERM ? 0 : 1; }), 0);
}

TEST(HostFilterTest, ASystemCallFromGuestCodeTraps) {
    EXPECT_EQ(in_filtered_child([] {
                  // getpid (39) from a page in the guest's range: mov $39, %eax; syscall; ret
                  void* page = mmap(reinterpret_cast<void*>(0x10000000), 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
                  if (page == MAP_FAILED) return 2;
                  const uint8_t code[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3};
                  std::memcpy(page, code, sizeof code);
                  struct sigaction sa {};
                  sa.sa_sigaction = on_sigsys;
                  sa.sa_flags = SA_SIGINFO;
                  sigaction(SIGSYS, &sa, nullptr);
                  reinterpret_cast<void (*)()>(page)();
                  return sigsys_number == 39 ? 0 : 3;
              }),
              0);
}

}  // namespace
}  // namespace previrt::vmm::process
