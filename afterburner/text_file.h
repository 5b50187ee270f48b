// Reading the afterburner's text inputs (assembler sources, annotation files,
// trap profiles) the way GNU as reads its own: a directory is refused as it
// refuses one ("can't read from DIR: Is a directory"), a pipe or a device is
// read as a stream, and a file that is meant to be small is read up to a limit,
// so that /dev/zero or a runaway file ends in a clear error, not a hang.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace previrt::afterburner {

class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr size_t kNoLimit = ~size_t{0};

// The whole of `path` ("-": standard input). Throws InputError naming the
// file: it cannot be opened or read, it is a directory, or it holds more than
// `limit` bytes.
std::string read_text_file(const std::string& path, size_t limit = kNoLimit);

}  // namespace previrt::afterburner
