#include "tenders/qemu/qemu.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
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

// The image checked as the other tenders check it, so that QEMU refusing it
// cannot read as the guest's status, and --mem as small as to hang QEMU's
// firmware is refused here. (The RAM is mapped, never touched but where the
// segments go.) Returns 0, or the status to exit with.
int check_image(const RunOptions& o) {
    try {
        // A para-virtualized image calls a hypervisor the bare PC does not have.
        elf::File image = loader::open_image(o.image, loader::Platform::BarePc).file;
        size_t size = static_cast<size_t>(o.memory_mib) << 20;
        void* ram = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (ram == MAP_FAILED) {
            std::cerr << "previrt run: cannot map " << o.memory_mib << " MiB to check the image in\n";
            return kExitPlatform;
        }
        struct Unmap {
            void* p;
            size_t n;
            ~Unmap() { munmap(p, n); }
        } unmap{ram, size};
        loader::load_guest(image, {static_cast<uint8_t*>(ram), size}, o.command_line);
        return 0;
    } catch (const std::exception& e) {
        std::string what = e.what();  // the ELF reader names the file itself, the loader does not
        std::cerr << "previrt run: " << (what.starts_with(o.image) ? "" : o.image + ": ") << what << "\n";
        return kExitBadImage;
    }
}

// A folder of the run's own for QEMU's monitor socket, removed at the end.
class SocketDir {
public:
    SocketDir() {
        const char* tmp = std::getenv("TMPDIR");
        std::string base = tmp && *tmp && std::strlen(tmp) < 64 ? tmp : "/tmp";
        std::string pattern = base + "/previrt-qemu.XXXXXX";
        if (mkdtemp(pattern.data())) dir_ = pattern;
    }
    ~SocketDir() {
        if (dir_.empty()) return;
        unlink(socket().c_str());
        rmdir(dir_.c_str());
    }
    SocketDir(const SocketDir&) = delete;
    SocketDir& operator=(const SocketDir&) = delete;
    bool ok() const { return !dir_.empty(); }
    std::string socket() const { return dir_ + "/qmp"; }

private:
    std::string dir_;
};

std::vector<std::string> qemu_args(const RunOptions& o, const std::string& qmp_socket) {
    char exit_device[64];
    std::snprintf(exit_device, sizeof exit_device, "isa-debug-exit,iobase=%#x,iosize=0x04",
                  static_cast<unsigned>(layout::kExitPort));
    // -S: the machine waits for the monitor's `cont`, so that QEMU's failing
    // before it is told from the guest's exiting after (QmpStart).
    return {
        find_qemu(), "-kernel", o.image, "-append", o.command_line, "-m", std::to_string(o.memory_mib) + "M",
        "-cpu", "max", "-display", "none", "-monitor", "none", "-no-reboot", "-device", exit_device,
        "-serial", o.serial == "stdio" ? "stdio" : "file:" + o.serial,
        "-S", "-qmp", "unix:" + qmp_socket + ",server=on,wait=off",
    };
}

// QEMU as a child process: its standard error through a pipe, a failed exec
// reported through a close-on-exec pipe (so that no exit status of the
// guest's can be mistaken for it), killed if the run ends before it does.
class QemuProcess {
public:
    // Returns false, having said why, if QEMU could not be started.
    bool start(std::vector<std::string> args) {
        int report[2], errors[2];
        if (pipe2(report, O_CLOEXEC) != 0) return false;
        if (pipe2(errors, O_CLOEXEC) != 0) {
            close(report[0]);
            close(report[1]);
            return false;
        }
        pid_ = fork();
        if (pid_ < 0) {
            std::cerr << "previrt run: fork: " << std::strerror(errno) << "\n";
            for (int fd : {report[0], report[1], errors[0], errors[1]}) close(fd);
            return false;
        }
        if (pid_ == 0) {
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
        errors_fd_ = errors[0];
        int exec_error = 0;
        ssize_t got = read(report[0], &exec_error, sizeof exec_error);
        close(report[0]);
        if (got == sizeof exec_error) {
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
            close(errors_fd_);
            std::cerr << "previrt run: cannot start " << args[0] << ": " << std::strerror(exec_error)
                      << " (install qemu-system-x86, or set PREVIRT_QEMU)\n";
            return false;
        }
        return true;
    }
    ~QemuProcess() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    int errors_fd() const { return errors_fd_; }
    // Whether QEMU has exited (its wait status in `status`).
    bool exited(int& status) {
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno != EINTR)) {
            pid_ = -1;
            return true;
        }
        return false;
    }
    void stop(int& status) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    int errors_fd_ = -1;  // QemuErrors closes it
};

// QEMU's machine monitor (QMP, one JSON message a line), just enough to start
// the paused machine: the greeting, `qmp_capabilities`, `cont`. Until `cont`
// went out the guest has not run, so QEMU's exiting means QEMU failed.
class QmpStart {
public:
    explicit QmpStart(std::string socket) : socket_(std::move(socket)) {}
    ~QmpStart() {
        if (fd_ >= 0) close(fd_);
    }
    QmpStart(const QmpStart&) = delete;
    QmpStart& operator=(const QmpStart&) = delete;

    bool started() const { return step_ == Step::Started; }
    // The descriptor to wait on, or -1 while the socket is not connected.
    int fd() const { return step_ == Step::Started ? -1 : fd_; }
    // One step further, as far as QEMU's answers allow without waiting.
    void advance() {
        if (step_ == Step::Connect) connect_socket();
        if (fd_ < 0 || step_ == Step::Started) return;
        char buf[4096];
        for (ssize_t n; (n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0;) in_.append(buf, size_t(n));
        for (size_t nl; step_ != Step::Started && (nl = in_.find('\n')) != std::string::npos; in_.erase(0, nl + 1)) {
            std::string_view line(in_.data(), nl);
            if (step_ == Step::Greeting && line.find("\"QMP\"") != std::string_view::npos) {
                send_line("{\"execute\": \"qmp_capabilities\"}");
                step_ = Step::Capabilities;
            } else if (step_ == Step::Capabilities && line.starts_with("{\"return\"")) {
                send_line("{\"execute\": \"cont\"}");
                step_ = Step::Started;
            }
        }
    }

private:
    enum class Step { Connect, Greeting, Capabilities, Started };
    void connect_socket() {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", socket_.c_str());
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return;
        if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            close(fd);
            return;
        }
        fd_ = fd;
        step_ = Step::Greeting;
    }
    void send_line(std::string line) {
        line += "\n";
        (void)!send(fd_, line.data(), line.size(), MSG_NOSIGNAL);
    }
    std::string socket_, in_;
    int fd_ = -1;
    Step step_ = Step::Connect;
};

}  // namespace

int exit_status(int wait_status, bool machine_started, bool qemu_reported_error) {
    if (!machine_started) {
        std::cerr << "previrt run: QEMU failed before the machine started ("
                  << (WIFEXITED(wait_status) ? "exit status " + std::to_string(WEXITSTATUS(wait_status))
                                             : "signal " + std::to_string(WTERMSIG(wait_status)))
                  << (qemu_reported_error ? ", and the error above" : "") << "): no guest status\n";
        return kExitPlatform;
    }
    if (qemu_reported_error) {
        std::cerr << "previrt run: QEMU failed (its exit status "
                  << (WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1) << ", and the error above): no guest status\n";
        return kExitPlatform;
    }
    if (!WIFEXITED(wait_status)) {
        std::cerr << "previrt run: qemu died (signal " << WTERMSIG(wait_status) << ")\n";
        return kExitPlatform;
    }
    int code = WEXITSTATUS(wait_status);
    // isa-debug-exit makes qemu exit with (value << 1) | 1; a plain exit 0 means
    // the guest stopped some other way (a reset or triple fault, with -no-reboot).
    if (code & 1) return code >> 1;
    std::cerr << "previrt run: the guest stopped without an exit status (qemu exit " << code
              << "; a triple fault resets the machine)\n";
    return kExitGuestNoStatus;
}

int run_on_qemu(const RunOptions& o) {
    if (int status = check_image(o)) return status;
    SocketDir dir;
    if (!dir.ok()) {
        std::cerr << "previrt run: cannot make a folder for QEMU's monitor socket: " << std::strerror(errno) << "\n";
        return kExitPlatform;
    }
    std::vector<std::string> args = qemu_args(o, dir.socket());
    QemuProcess qemu;
    if (!qemu.start(args)) return kExitPlatform;
    QemuErrors qemu_errors(qemu.errors_fd(), std::filesystem::path(args[0]).filename().string() + ":");
    QmpStart qmp(dir.socket());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_seconds);
    int status = 0;
    for (;;) {
        qmp.advance();
        if (int fd = qmp.fd(); fd >= 0) {
            pollfd p{fd, POLLIN, 0};
            ::poll(&p, 1, 0);
        }
        qemu_errors.poll(qmp.started() ? 20 : 2);
        if (qemu.exited(status)) break;
        if (o.timeout_seconds && std::chrono::steady_clock::now() >= deadline) {
            qemu.stop(status);
            if (!qmp.started()) {
                std::cerr << "previrt run: QEMU did not start the machine within --timeout " << o.timeout_seconds
                          << "s; stopped\n";
                return kExitPlatform;
            }
            std::cerr << "previrt run: the guest ran past --timeout " << o.timeout_seconds << "s; stopped\n";
            return kExitTimeout;
        }
    }
    qemu_errors.poll(0);  // what is left in the pipe
    return exit_status(status, qmp.started(), qemu_errors.seen());
}

}  // namespace previrt::tenders
