#include "afterburner/as_hook.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "afterburner/object_finisher.h"
#include "afterburner/rewriter.h"

namespace previrt::afterburner {
namespace {

namespace fs = std::filesystem;

constexpr char kTag[] = "previrt as: ";

// GNU as options whose value is the next argument.
bool takes_value(const std::string& opt) {
    return opt == "-o" || opt == "-I" || opt == "--defsym" || opt == "--MD" || opt == "--debug-prefix-map";
}

struct Invocation {
    std::vector<std::string> as_args;  // what the real as gets, inputs removed
    std::vector<std::string> inputs;   // "-" for standard input
    std::string output = "a.out";
    std::string annotations;
    // --version, --help, and x32 output (64-bit code in ELF32 objects, which no
    // kernel uses): run as untouched.
    bool passthrough = false;
    uint8_t mode = abi::kSiteMode64;  // --32 starts in 32-bit code
};

Invocation parse_args(const std::vector<std::string>& args) {
    Invocation inv;
    if (const char* a = std::getenv("PREVIRT_ANNOTATIONS")) inv.annotations = a;
    bool options_done = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (!options_done && a.starts_with("--previrt-annotations=")) {
            inv.annotations = a.substr(std::strlen("--previrt-annotations="));
        } else if (!options_done && a == "--") {
            options_done = true;
        } else if (options_done || a == "-" || a.empty() || a[0] != '-') {
            inv.inputs.push_back(a);
        } else {
            inv.as_args.push_back(a);
            if (a == "--version" || a == "--help" || a == "-v" || a == "--x32") inv.passthrough = true;
            if (a == "--32") inv.mode = abi::kSiteMode32;
            if (takes_value(a) && i + 1 < args.size()) {
                if (a == "-o") inv.output = args[i + 1];
                inv.as_args.push_back(args[++i]);
            } else if (a.starts_with("-o") && a.size() > 2) {
                inv.output = a.substr(2);
            }
        }
    }
    if (inv.inputs.empty()) inv.inputs.push_back("-");
    return inv;
}

std::string find_real_as() {
    if (const char* a = std::getenv("PREVIRT_AS"); a && *a) return a;
    std::error_code ec;
    fs::path self = fs::canonical("/proc/self/exe", ec);
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    std::istringstream in(dirs);
    for (std::string dir; std::getline(in, dir, ':');) {
        fs::path candidate = fs::path(dir.empty() ? "." : dir) / "as";
        if (access(candidate.c_str(), X_OK) != 0) continue;
        if (fs::canonical(candidate, ec) == self) continue;
        return candidate.string();
    }
    throw std::runtime_error("cannot find GNU as on PATH (set PREVIRT_AS to its path)");
}

std::string read_input(const std::string& name) {
    std::ostringstream text;
    if (name == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream in(name, std::ios::binary);
        if (!in) throw std::runtime_error(name + ": cannot open: " + std::strerror(errno));
        text << in.rdbuf();
    }
    return text.str();
}

// Runs `as` with `args`, feeding `text` on its standard input. Returns its exit status.
int run_real_as(const std::string& as, const std::vector<std::string>& args, const std::string* text) {
    int pipefd[2] = {-1, -1};
    if (text && pipe(pipefd) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        if (text) {
            dup2(pipefd[0], 0);
            close(pipefd[0]);
            close(pipefd[1]);
        }
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(as.c_str()));
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(as.c_str(), argv.data());
        std::cerr << kTag << "cannot run " << as << ": " << std::strerror(errno) << "\n";
        _exit(127);
    }
    if (text) {
        close(pipefd[0]);
        const char* p = text->data();
        size_t left = text->size();
        while (left > 0) {
            ssize_t n = write(pipefd[1], p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // as stopped reading; its status says why
            p += n;
            left -= static_cast<size_t>(n);
        }
        close(pipefd[1]);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

std::vector<std::string> expand_response_files(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const std::string& a : args) {
        if (a.size() < 2 || a[0] != '@') {
            out.push_back(a);
            continue;
        }
        std::ifstream in(a.substr(1), std::ios::binary);
        if (!in) {  // as treats an unreadable @FILE as a file name too
            out.push_back(a);
            continue;
        }
        std::string text((std::istreambuf_iterator<char>(in)), {});
        std::string word;
        bool in_word = false;
        char quote = 0;
        for (size_t i = 0; i < text.size(); ++i) {
            char c = text[i];
            if (c == '\\' && i + 1 < text.size()) {
                word += text[++i];
                in_word = true;
            } else if (quote) {
                if (c == quote) quote = 0;
                else word += c;
            } else if (c == '\'' || c == '"') {
                quote = c;
                in_word = true;
            } else if (std::isspace(static_cast<unsigned char>(c))) {
                if (in_word) out.push_back(std::move(word));
                word.clear();
                in_word = false;
            } else {
                word += c;
                in_word = true;
            }
        }
        if (in_word) out.push_back(std::move(word));
    }
    return out;
}

int run_as_hook(const std::vector<std::string>& raw_args) {
    try {
        if (std::getenv("PREVIRT_AS_HOOK_ACTIVE"))
            throw std::runtime_error("the real as resolved to the hook itself (set PREVIRT_AS to GNU as)");
        setenv("PREVIRT_AS_HOOK_ACTIVE", "1", 1);
        Invocation inv = parse_args(expand_response_files(raw_args));
        std::string as = find_real_as();
        if (inv.passthrough) {
            std::vector<std::string> all = inv.as_args;
            if (!(inv.inputs.size() == 1 && inv.inputs[0] == "-")) all.insert(all.end(), inv.inputs.begin(), inv.inputs.end());
            return run_real_as(as, all, nullptr);
        }

        Annotations annotations;
        if (!inv.annotations.empty()) annotations = Annotations::load(inv.annotations);
        std::string combined;
        for (const std::string& input : inv.inputs) {
            RewriteOptions options;
            options.file_name = input == "-" ? "{standard input}" : input;
            options.annotations = annotations.empty() ? nullptr : &annotations;
            options.initial_mode = inv.mode;
            RewriteResult r = rewrite(read_input(input), options);
            for (const std::string& w : r.warnings) std::cerr << kTag << "warning: " << w << "\n";
            // A line marker keeps the assembler's messages and debug lines naming the original file.
            if (input != "-" && input.find_first_of("\"\\\n") == std::string::npos)
                combined += "# 1 \"" + input + "\"\n";
            combined += r.text;
            if (!combined.empty() && combined.back() != '\n') combined += '\n';
        }

        int status = run_real_as(as, inv.as_args, &combined);
        if (status != 0) return status;
        try {
            finish_object_file(inv.output);
        } catch (const std::exception& e) {
            std::error_code ec;
            fs::remove(inv.output, ec);  // no half-finished object for make to trust
            throw;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << kTag << "error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace previrt::afterburner
