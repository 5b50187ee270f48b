// Test helpers that drive the system toolchain (as, ld, readelf, objdump) in a
// scratch directory, so the tests check the library against real ELF files.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace previrt::elf::test {

struct CommandResult {
    int status = -1;
    std::string output;  // stdout and stderr together; redirect one inside `command` to drop it
};

inline CommandResult run(const std::string& command) {
    CommandResult result;
    FILE* pipe = popen(("{ " + command + "; } 2>&1").c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run: " + command);
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
    result.status = pclose(pipe);
    return result;
}

// Runs a command that must succeed; its output is the error message otherwise.
inline std::string check_run(const std::string& command) {
    CommandResult r = run(command);
    if (r.status != 0)
        throw std::runtime_error("command failed (" + std::to_string(r.status) + "): " + command + "\n" + r.output);
    return r.output;
}

inline std::string quote(const std::filesystem::path& path) {
    std::string out = "'";
    for (char c : path.string()) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh directory, removed with everything in it when the object goes away.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "previrt-elf-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

    // Assembles `source` with `as <flags>` into <name>.o and returns its path.
    std::filesystem::path assemble(const std::string& name, const std::string& source,
                                   const std::string& flags = "") const {
        const auto src = path_ / (name + ".s");
        const auto obj = path_ / (name + ".o");
        write_file(src, source);
        check_run("as " + flags + " -o " + quote(obj) + " " + quote(src));
        return obj;
    }

private:
    std::filesystem::path path_;
};

}  // namespace previrt::elf::test
