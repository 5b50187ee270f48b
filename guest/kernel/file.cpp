#include "kernel/file.h"

#include "abi/syscalls.h"
#include "devices/uart16550.h"
#include "kernel/spinlock.h"
#include "kernel/user_memory.h"
#include "kernel/wait_queue.h"

namespace guest {

struct Pipe {
    bool used = false;
    uint32_t readers = 0, writers = 0;
    uint32_t head = 0, count = 0;
    char buffer[4096];
    WaitQueue readable, writable;
};

namespace {

constexpr unsigned kMaxOpenFiles = 64;
constexpr unsigned kMaxPipes = 16;
constexpr size_t kChunk = 256;  // bytes moved per copy between user memory and a pipe

IrqSaveLock lock;  // all files and pipes
File files[kMaxOpenFiles];
Pipe pipes[kMaxPipes];

File* alloc_file(File::Kind kind, Pipe* pipe) {
    for (File& f : files) {
        if (f.refs == 0) {
            f = File{kind, 1, pipe};
            return &f;
        }
    }
    return nullptr;
}

int64_t pipe_read(Pipe& p, uint64_t buf, size_t size) {
    char chunk[kChunk];
    uint64_t flags = lock.lock();
    while (p.count == 0 && p.writers > 0) sleep_on(p.readable, lock);
    size_t n = p.count < size ? p.count : size;
    if (n > kChunk) n = kChunk;
    for (size_t i = 0; i < n; ++i) chunk[i] = p.buffer[(p.head + i) % sizeof p.buffer];
    p.head = static_cast<uint32_t>((p.head + n) % sizeof p.buffer);
    p.count -= static_cast<uint32_t>(n);
    wake_all(p.writable);
    lock.unlock(flags);
    if (n && copy_to_user(buf, chunk, n) < 0) return sys::kFault;
    return static_cast<int64_t>(n);
}

int64_t pipe_write(Pipe& p, uint64_t buf, size_t size) {
    size_t done = 0;
    while (done < size) {
        char chunk[kChunk];
        size_t n = size - done < kChunk ? size - done : kChunk;
        if (copy_from_user(chunk, buf + done, n) < 0) return done ? static_cast<int64_t>(done) : sys::kFault;
        uint64_t flags = lock.lock();
        size_t put = 0;
        while (put < n) {
            while (p.count == sizeof p.buffer && p.readers > 0) sleep_on(p.writable, lock);
            if (p.readers == 0) {
                lock.unlock(flags);
                return done + put ? static_cast<int64_t>(done + put) : sys::kBrokenPipe;
            }
            while (put < n && p.count < sizeof p.buffer) {
                p.buffer[(p.head + p.count) % sizeof p.buffer] = chunk[put++];
                ++p.count;
            }
            wake_all(p.readable);
        }
        lock.unlock(flags);
        done += n;
    }
    return static_cast<int64_t>(done);
}

}  // namespace

File* file_open_console(File::Kind kind) {
    LockGuard g(lock);
    return alloc_file(kind, nullptr);
}

bool file_open_pipe(File*& read_end, File*& write_end) {
    LockGuard g(lock);
    for (Pipe& p : pipes) {
        if (p.used) continue;
        read_end = alloc_file(File::Kind::PipeRead, &p);
        write_end = read_end ? alloc_file(File::Kind::PipeWrite, &p) : nullptr;
        if (!write_end) {
            if (read_end) read_end->refs = 0;
            return false;
        }
        p = Pipe{};
        p.used = true;
        p.readers = p.writers = 1;
        return true;
    }
    return false;
}

File* file_ref(File* f) {
    LockGuard g(lock);
    ++f->refs;
    if (f->kind == File::Kind::PipeRead) ++f->pipe->readers;
    if (f->kind == File::Kind::PipeWrite) ++f->pipe->writers;
    return f;
}

void file_close(File* f) {
    LockGuard g(lock);
    if (Pipe* p = f->pipe) {
        if (f->kind == File::Kind::PipeRead && --p->readers == 0) wake_all(p->writable);
        if (f->kind == File::Kind::PipeWrite && --p->writers == 0) wake_all(p->readable);
        if (p->readers == 0 && p->writers == 0) p->used = false;
    }
    --f->refs;
}

int64_t file_read(File* f, uint64_t buf, size_t size) {
    if (!user_range_ok(buf, size)) return sys::kFault;
    if (size == 0) return 0;
    switch (f->kind) {
    case File::Kind::PipeRead: return pipe_read(*f->pipe, buf, size);
    case File::Kind::ConsoleIn: {
        char chunk[kChunk];
        size_t n = uart::read(chunk, size < kChunk ? size : kChunk);
        if (copy_to_user(buf, chunk, n) < 0) return sys::kFault;
        return static_cast<int64_t>(n);
    }
    default: return sys::kBadFd;
    }
}

int64_t file_write(File* f, uint64_t buf, size_t size) {
    if (!user_range_ok(buf, size)) return sys::kFault;
    switch (f->kind) {
    case File::Kind::PipeWrite: return pipe_write(*f->pipe, buf, size);
    case File::Kind::ConsoleOut: {
        for (size_t done = 0; done < size;) {
            char chunk[kChunk];
            size_t n = size - done < kChunk ? size - done : kChunk;
            if (copy_from_user(chunk, buf + done, n) < 0) return done ? static_cast<int64_t>(done) : sys::kFault;
            uart::write(chunk, n);
            done += n;
        }
        return static_cast<int64_t>(size);
    }
    default: return sys::kBadFd;
    }
}

}  // namespace guest
