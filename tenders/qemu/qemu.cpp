#include "tenders/qemu/qemu.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "elf/elf_file.h"
#include "tenders/loader/guest_loader.h"
#include "previrt/guest_layout.h"

namespace previrt::tenders {
namespace {

std::string find_qemu() {
    if (const char* q = std::getenv("PREVIRT_QEMU"); q && *q) return q;
    return "qemu-system-x86_64";
}

// QEMU's standard error, passed on line by line; whether a line was one of
// QEMU's own error reports, which start with its program name and a colon.
class QemuErrors {
public:
    QemuErrors(int fd, std::string prefix) : fd_(fd), prefix_(std::move(prefix)) {}
    ~QemuErrors() { close(fd_); }
    QemuErrors(const QemuErrors&) = delete;
    QemuErrors& operator=(const QemuErrors&) = delete;

    // Waits up to `ms` for output and passes on what came.
    void poll(int ms) {
        for (;;) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, ms) <= 0 || !(p.revents & (POLLIN | POLLHUP))) return;
            char buf[4096];
            ssize_t n = read(fd_, buf, sizeof buf);
            if (n <= 0) return;
            line_.append(buf, static_cast<size_t>(n));
            for (size_t nl; (nl = line_.find('\n')) != std::string::npos; line_.erase(0, nl + 1)) take(line_.substr(0, nl + 1));
            ms = 0;
        }
    }
    bool seen() {
        if (!line_.empty()) take(std::exchange(line_, {}) + "\n");
        return seen_;
    }

private:
    void take(const std::string& line) {
        std::cerr << line;
        // Its name as it was started, or as a wrapper script runs it.
        if (line.starts_with(prefix_) || (line.starts_with("qemu-") && line.find(": ") < line.find(' ')))
            seen_ = true;
    }
    int fd_;
    std::string prefix_, line_;
    bool seen_ = false;
};

}  // namespace

int run_on_qemu(const RunOptions& o) {
    // The image checked as the monitors check it, so that QEMU refusing it
    // cannot read as the guest's status, and --mem as small as to hang QEMU's
    // firmware is refused here. (The RAM is mapped, never touched but where
    // the segments go.)
    try {
        // A para-virtualized image calls a hypervisor the bare PC does not have.
        elf::File image = loader::open_image(o.image, loader::Platform::BarePc).file;
        size_t size = static_cast<size_t>(o.memory_mib) << 20;
        void* ram = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (ram == MAP_FAILED) {
            std::cerr << "previrt run: cannot map " << o.memory_mib << " MiB to check the image in\n";
            return kExitPlatform;
        }
        try {
            loader::load_guest(image, {static_cast<uint8_t*>(ram), size}, o.command_line);
        } catch (...) {
            munmap(ram, size);
            throw;
        }
        munmap(ram, size);
    } catch (const std::exception& e) {
        std::string what = e.what();  // the ELF reader names the file itself, the loader does not
        std::cerr << "previrt run: " << (what.starts_with(o.image) ? "" : o.image + ": ") << what << "\n";
        return kExitBadImage;
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
    int report[2], errors[2];
    if (pipe2(report, O_CLOEXEC) != 0) return kExitPlatform;
    // QEMU's standard error comes through a pipe: passed on as it comes, and
    // read for QEMU's own error lines ("qemu-system-x86_64: ..."), since QEMU
    // exits 1 on an error, which isa-debug-exit also gives for the guest's 0.
    if (pipe2(errors, O_CLOEXEC) != 0) {
        close(report[0]);
        close(report[1]);
        return kExitPlatform;
    }
    pid_t pid = fork();
    if (pid < 0) {
        std::cerr << "previrt run: fork: " << std::strerror(errno) << "\n";
        return kExitPlatform;
    }
    if (pid == 0) {
        dup2(errors[1], STDERR_FILENO);
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        int err = errno;
        (void)!write(report[1], &err, sizeof err);
        _exit(127);
    }
    close(report[1]);
    close(errors[1]);
    int exec_error = 0;
    ssize_t got = read(report[0], &exec_error, sizeof exec_error);
    close(report[0]);
    if (got == sizeof exec_error) {
        close(errors[0]);
        waitpid(pid, nullptr, 0);
        std::cerr << "previrt run: cannot start " << args[0] << ": " << std::strerror(exec_error)
                  << " (install qemu-system-x86, or set PREVIRT_QEMU)\n";
        return kExitPlatform;
    }

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_seconds);
    QemuErrors qemu_errors(errors[0], std::filesystem::path(args[0]).filename().string() + ":");
    int status = 0;
    for (;;) {
        qemu_errors.poll(20);
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return kExitPlatform;
        if (o.timeout_seconds && std::chrono::steady_clock::now() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            std::cerr << "previrt run: the guest ran past --timeout " << o.timeout_seconds << "s; stopped\n";
            return kExitTimeout;
        }
    }
    qemu_errors.poll(0);  // what is left in the pipe
    if (qemu_errors.seen()) {
        std::cerr << "previrt run: QEMU failed (its exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
                  << ", and the error above): no guest status\n";
        return kExitPlatform;
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

}  // namespace previrt::tenders
