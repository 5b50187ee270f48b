// Host descriptors and files a tender opens for a run, each closed by its
// owner whichever way the run ends: an early error returns its exit status
// and leaks nothing.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <memory>

namespace previrt::tenders {

class UniqueFd {
public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) {
        if (fd_ >= 0) close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

// A stdio stream of the run's own (standard output is never closed).
struct CloseFile {
    void operator()(std::FILE* f) const {
        if (f && f != stdout) std::fclose(f);
    }
};
using UniqueFile = std::unique_ptr<std::FILE, CloseFile>;

}  // namespace previrt::tenders
