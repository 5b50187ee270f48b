#include "platforms/qemu.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "elf/elf_file.h"
#include "monitors/loader/guest_loader.h"
#include "previrt/guest_layout.h"

namespace previrt::platforms {
namespace {

std::string find_qemu() {
    if (const char* q = std::getenv("PREVIRT_QEMU"); q && *q) return q;
    return "qemu-system-x86_64";
}

}  // namespace

int run_on_qemu(const RunOptions& o) {
    // A para-virtualized image calls a hypervisor the bare PC does not have.
    // (What is not an ELF file is QEMU's to judge.)
    try {
        loader::Paravirt paravirt = loader::paravirt_interface(elf::File::load(o.image));
        if (paravirt) {
            std::cerr << "previrt run: " << o.image << ": para-virtualized for " << paravirt.name()
                      << " interface: it runs on that hypervisor only ("
                      << (paravirt.kind == loader::Paravirt::Kind::Kvm ? "--on kvm" : "--on process") << ")\n";
            return kExitBadImage;
        }
    } catch (const std::exception&) {
    }
    char exit_device[64];
    std::snprintf(exit_device, sizeof exit_device, "isa-debug-exit,iobase=%#x,iosize=0x04",
                  static_cast<unsigned>(layout::kExitPort));
    std::vector<std::string> args = {
        find_qemu(), "-kernel", o.image, "-append", o.command_line, "-m", std::to_string(o.memory_mib) + "M",
        "-cpu", "max", "-display", "none", "-monitor", "none", "-no-reboot", "-device", exit_device,
        "-serial", o.serial == "stdio" ? "stdio" : "file:" + o.serial,
    };
    // The child reports a failed exec through a close-on-exec pipe, so that no
    // exit status of the guest's can be mistaken for it.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return kExitPlatform;
    pid_t pid = fork();
    if (pid < 0) {
        std::cerr << "previrt run: fork: " << std::strerror(errno) << "\n";
        return kExitPlatform;
    }
    if (pid == 0) {
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        int err = errno;
        (void)!write(report[1], &err, sizeof err);
        _exit(127);
    }
    close(report[1]);
    int exec_error = 0;
    ssize_t got = read(report[0], &exec_error, sizeof exec_error);
    close(report[0]);
    if (got == sizeof exec_error) {
        waitpid(pid, nullptr, 0);
        std::cerr << "previrt run: cannot start " << args[0] << ": " << std::strerror(exec_error)
                  << " (install qemu-system-x86, or set PREVIRT_QEMU)\n";
        return kExitPlatform;
    }

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_seconds);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, o.timeout_seconds ? WNOHANG : 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return kExitPlatform;
        if (o.timeout_seconds && std::chrono::steady_clock::now() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            std::cerr << "previrt run: the guest ran past --timeout " << o.timeout_seconds << "s; stopped\n";
            return kExitTimeout;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!WIFEXITED(status)) {
        std::cerr << "previrt run: qemu died (signal " << WTERMSIG(status) << ")\n";
        return kExitPlatform;
    }
    int code = WEXITSTATUS(status);
    // isa-debug-exit makes qemu exit with (value << 1) | 1; a plain exit 0 means
    // the guest stopped some other way (a reset or triple fault, with -no-reboot).
    if (code & 1) return code >> 1;
    std::cerr << "previrt run: the guest stopped without an exit status (qemu exit " << code
              << "; a triple fault resets the machine)\n";
    return kExitGuestNoStatus;
}

}  // namespace previrt::platforms
