// Open files: the console and pipes, shared between processes by reference count.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest {

struct Pipe;

struct File {
    enum class Kind : uint8_t { ConsoleIn, ConsoleOut, PipeRead, PipeWrite };
    Kind kind = Kind::ConsoleIn;
    uint32_t refs = 0;
    Pipe* pipe = nullptr;
};

File* file_open_console(File::Kind kind);
// Two files, read end and write end; false when no pipe is free.
bool file_open_pipe(File*& read_end, File*& write_end);
File* file_ref(File* f);
void file_close(File* f);

// Transfer through the current process's memory; negative sys::Error on failure.
int64_t file_read(File* f, uint64_t user_buf, size_t size);
int64_t file_write(File* f, uint64_t user_buf, size_t size);

}  // namespace guest
