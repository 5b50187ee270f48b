#include "afterburner/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace previrt::afterburner {
namespace {

std::string error_text(const std::string& path, int err) {
    return "can't read from " + path + ": " + std::strerror(err);
}

}  // namespace

std::string read_text_file(const std::string& path, size_t limit) {
    bool standard_input = path == "-";
    int fd = standard_input ? STDIN_FILENO : open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InputError("can't open " + path + " for reading: " + std::strerror(errno));
    struct Close {
        int fd;
        bool owned;
        ~Close() {
            if (owned) close(fd);
        }
    } closer{fd, !standard_input};
    struct stat st{};
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) throw InputError(error_text(path, EISDIR));
    std::string text;
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) <= limit) text.reserve(size_t(st.st_size));
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw InputError(error_text(path, errno));
        if (n == 0) return text;
        if (text.size() + size_t(n) > limit)
            throw InputError(path + ": more than " + std::to_string(limit >> 20) + " MiB, too large for what it should hold");
        text.append(buf, size_t(n));
    }
}

}  // namespace previrt::afterburner
