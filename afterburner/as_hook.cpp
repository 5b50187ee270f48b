#include "afterburner/as_hook.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "afterburner/includes.h"
#include "afterburner/inspect.h"
#include "afterburner/late_records.h"
#include "afterburner/object_finisher.h"
#include "afterburner/rewriter.h"
#include "afterburner/text_file.h"
#include "elf/elf_file.h"
#include "sites/site_table.h"

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
    size_t output_arg = SIZE_MAX;             // as_args[output_arg] names the output ("-o" given)
    bool output_joined = false;               // written "-oFILE"
    std::vector<std::string> include_dirs;    // -I, for .include
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
                if (a == "-o") {
                    inv.output = args[i + 1];
                    inv.output_arg = inv.as_args.size();
                }
                if (a == "-I") inv.include_dirs.push_back(args[i + 1]);
                inv.as_args.push_back(args[++i]);
            } else if (a.starts_with("-o") && a.size() > 2) {
                inv.output = a.substr(2);
                inv.output_arg = inv.as_args.size() - 1;
                inv.output_joined = true;
            } else if (a.starts_with("-I") && a.size() > 2) {
                inv.include_dirs.push_back(a.substr(2));
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

// Runs `as` with `args`, feeding `text` on its standard input. Returns its
// exit status. With `messages`, what as says goes there instead of to the
// hook's standard error (through a file: as may say much before it reads all).
int run_real_as(const std::string& as, const std::vector<std::string>& args, const std::string* text,
                std::string* messages = nullptr) {
    int message_fd = -1;
    std::string message_path;
    if (messages) {
        const char* tmp = std::getenv("TMPDIR");
        message_path = std::string(tmp && *tmp ? tmp : "/tmp") + "/previrt-as-messages-XXXXXX";
        message_fd = mkstemp(message_path.data());
        if (message_fd < 0) throw std::runtime_error(std::string("cannot make a temporary file: ") + std::strerror(errno));
        unlink(message_path.c_str());
    }
    struct CloseMessages {
        int fd;
        ~CloseMessages() {
            if (fd >= 0) close(fd);
        }
    } close_messages{message_fd};
    int pipefd[2] = {-1, -1};
    if (text && pipe(pipefd) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        if (message_fd >= 0) dup2(message_fd, 2);
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
        // as may stop reading before the end (.abort, .end, a fatal error):
        // a write then fails with EPIPE instead of killing the hook.
        signal(SIGPIPE, SIG_IGN);
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
    if (messages) {
        messages->clear();
        char buf[4096];
        lseek(message_fd, 0, SEEK_SET);
        for (ssize_t n; (n = read(message_fd, buf, sizeof buf)) > 0;) messages->append(buf, size_t(n));
    }
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

namespace {

// An output that could not be finished is removed, as GNU as removes it, but
// only if it is a regular file: never a device, a pipe, a directory or a link
// (`as -o /dev/null`, `-o /dev/stdout`).
void unlink_if_ordinary(const std::string& path) {
    struct stat st{};
    if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) unlink(path.c_str());
}

// Where as writes the object. The output itself when it is a regular file or
// does not exist yet, as as would; anything else (/dev/null, a pipe, a
// terminal) gets a temporary file, finished there and then written into the
// output the way as writes one, without replacing it.
class ObjectOutput {
public:
    explicit ObjectOutput(Invocation& inv) : output_(inv.output) {
        struct stat st{};
        if (stat(output_.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return;
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/previrt-as-XXXXXX";
        int fd = mkstemp(pattern.data());
        if (fd < 0) throw std::runtime_error("cannot make a temporary object file: " + std::string(std::strerror(errno)));
        close(fd);
        temp_ = pattern;
        if (inv.output_arg < inv.as_args.size()) inv.as_args[inv.output_arg] = (inv.output_joined ? "-o" : "") + temp_;
    }
    ~ObjectOutput() {
        if (!temp_.empty()) unlink(temp_.c_str());
    }
    ObjectOutput(const ObjectOutput&) = delete;
    ObjectOutput& operator=(const ObjectOutput&) = delete;

    // What the object finisher works on.
    const std::string& path() const { return temp_.empty() ? output_ : temp_; }
    // The finished object into an output that is no regular file.
    void deliver() const {
        if (temp_.empty()) return;
        std::vector<uint8_t> bytes;
        {
            std::ifstream in(temp_, std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        int fd = open(output_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0) throw std::runtime_error("can't open " + output_ + " for writing: " + std::strerror(errno));
        for (size_t at = 0; at < bytes.size();) {
            ssize_t n = write(fd, bytes.data() + at, bytes.size() - at);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                int err = errno;
                close(fd);
                throw std::runtime_error("can't write " + output_ + ": " + std::strerror(err));
            }
            at += size_t(n);
        }
        close(fd);
    }
    // An object that failed: no half-finished one for make to trust.
    void discard() const { unlink_if_ordinary(path()); }

private:
    std::string output_, temp_;
};

// The inputs, each read once as as reads it (standard input cannot be read
// twice), with its .include files put in place.
struct Source {
    std::string name;  // for messages: the file, or "{standard input}"
    std::string text;
    bool file = false;
};
std::vector<Source> read_sources(const Invocation& inv) {
    std::vector<Source> out;
    for (const std::string& input : inv.inputs) {
        Source s{input == "-" ? "{standard input}" : input, {}, input != "-"};
        s.text = expand_includes(read_text_file(input), s.name, inv.include_dirs);
        out.push_back(std::move(s));
    }
    return out;
}

// The hook's text for all inputs: their sensitive instructions recorded (and
// padded, with `pad`).
struct HookText {
    std::string text;
    std::vector<std::string> warnings;
    std::vector<std::string> places;  // each site's "file:line: mnemonic"
};
HookText rewritten_inputs(const Invocation& inv, const std::vector<Source>& sources, const Annotations& annotations,
                          bool pad) {
    HookText out;
    for (const Source& source : sources) {
        RewriteOptions options;
        options.file_name = source.name;
        options.annotations = annotations.empty() ? nullptr : &annotations;
        options.initial_mode = inv.mode;
        options.pad = pad;
        RewriteResult r = rewrite(source.text, options);
        out.warnings.insert(out.warnings.end(), r.warnings.begin(), r.warnings.end());
        out.places.insert(out.places.end(), r.places.begin(), r.places.end());
        // A line marker keeps the assembler's messages and debug lines naming the original file.
        if (source.file && source.name.find_first_of("\"\\\n") == std::string::npos)
            out.text += "# 1 \"" + source.name + "\"\n";
        out.text += r.text;
        if (!out.text.empty() && out.text.back() != '\n') out.text += '\n';
    }
    return out;
}

// The first line of as's messages that reports an error, for a note.
std::string first_error(const std::string& messages) {
    std::istringstream in(messages);
    for (std::string line; std::getline(in, line);)
        if (line.find("Error:") != std::string::npos) return line;
    return "";
}

// Assembles the inputs padded; where that breaks a layout the source fixes
// (`.org`, a size it asserts, an `.if` on a difference of labels), which the
// same text without padding assembles, every site is recorded without room
// instead and the hook says which. Returns as's status and the text it took.
int assemble(const std::string& as, const Invocation& inv, const Annotations& annotations, std::string& text) {
    std::vector<Source> sources = read_sources(inv);
    HookText padded = rewritten_inputs(inv, sources, annotations, true);
    for (const std::string& w : padded.warnings) std::cerr << kTag << "warning: " << w << "\n";
    std::string messages;
    int status = run_real_as(as, inv.as_args, &padded.text, &messages);
    if (status == 0 || padded.places.empty()) {
        std::cerr << messages;
        text = std::move(padded.text);
        return status;
    }
    HookText plain = rewritten_inputs(inv, sources, annotations, false);
    std::string plain_messages;
    int plain_status = run_real_as(as, inv.as_args, &plain.text, &plain_messages);
    if (plain_status != 0) {
        std::cerr << plain_messages;  // the source's own errors, padding or not
        return plain_status;
    }
    std::cerr << plain_messages << kTag << "warning: padding broke a layout the source fixes (as said: "
              << first_error(messages) << "); its " << plain.places.size() << " site(s) recorded without room:\n";
    for (const std::string& p : plain.places) std::cerr << kTag << "note: " << p << ": recorded without room\n";
    text = std::move(plain.text);
    return 0;
}

// Whether every code section came out of the second assembly as it did out of the first.
bool same_code(const elf::File& first, const elf::File& second) {
    for (size_t i = 0; i < first.sections().size(); ++i) {
        const elf::Section& a = first.sections()[i];
        if (!(a.flags & elf::kShfExecInstr)) continue;
        if (i >= second.sections().size()) return false;
        const elf::Section& b = second.sections()[i];
        if (a.name != b.name || a.data.size() != b.data.size() ||
            !std::equal(a.data.begin(), a.data.end(), b.data.begin()))
            return false;
    }
    return true;
}

// Sensitive instructions only the object shows, and code sections left in
// another mode at their end (late_records.h): recorded by a second assembly
// of `text` into `path`, whose object `finished` holds. Should that not give the same code,
// recorded, the first object stays and inspect names what is missing.
void record_late_sites(const std::string& as, const Invocation& inv, const std::string& text, const std::string& path,
                       std::vector<uint8_t> finished) {
    elf::File first = elf::File::parse(std::move(finished));
    sites::SiteTable table = sites::load_site_table(first);
    std::vector<Unrecorded> missed = unrecorded_instructions(first, table);
    std::vector<size_t> resets = mode_resets_needed(first, table);
    if (missed.empty() && resets.empty()) return;
    LateRecords late = late_records(first, missed, resets);
    bool recorded = false;
    if (late.sites || late.mode_resets) {
        std::string again = text + late.text;
        std::string messages;  // what as said of this text the first time it said already
        if (run_real_as(as, inv.as_args, &again, &messages) == 0) {
            try {
                finish_object_file(path);
                elf::File second = elf::File::load(path);
                recorded = same_code(first, second) &&
                           unrecorded_instructions(second, sites::load_site_table(second)).size() + late.sites ==
                               missed.size();
            } catch (const std::exception&) {
                recorded = false;
            }
        }
        if (!recorded) {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char*>(first.bytes().data()), std::streamsize(first.bytes().size()));
            if (!out) throw std::runtime_error(path + ": cannot write the object back");
            std::cerr << kTag << "warning: " << missed.size() << " sensitive instruction(s) the text did not show and "
                      << resets.size() << " section end(s) in another code mode could not be recorded (the second "
                         "assembly did not give the same code)\n";
            return;
        }
    }
    // Named by the object: with gcc -pipe the source is standard input.
    for (const std::string& n : late.notes) std::cerr << kTag << "note: " << inv.output << ": " << n << "\n";
}

}  // namespace

int run_as_hook(const std::vector<std::string>& raw_args) {
    std::string output;
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
        output = inv.output;
        Annotations annotations;
        if (!inv.annotations.empty()) annotations = Annotations::load(inv.annotations);
        ObjectOutput object(inv);
        std::string text;
        if (int status = assemble(as, inv, annotations, text); status != 0) return status;
        try {
            FinishResult finished = finish_object_file(object.path());
            record_late_sites(as, inv, text, object.path(), std::move(finished.bytes));
            object.deliver();
        } catch (const std::exception& e) {
            object.discard();
            throw;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << kTag << "error: " << e.what() << "\n";
        if (!output.empty()) unlink_if_ordinary(output);  // as removes what it could not finish
        return 1;
    }
}

}  // namespace previrt::afterburner
