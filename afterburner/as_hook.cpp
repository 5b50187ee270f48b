#include "afterburner/as_hook.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
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

// What as reads, made while as reads it: the producer hands the text to its
// sink a part at a time.
using Sink = std::function<void(std::string_view)>;
using Producer = std::function<void(const Sink&)>;

// Runs `as` with `args`, feeding `text` on its standard input. Returns its
// exit status. With `messages`, what as says goes there instead of to the
// hook's standard error (through a file: as may say much before it reads all).
int run_real_as(const std::string& as, const std::vector<std::string>& args, const Producer* text,
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
    // Close-on-exec: an assembly started meanwhile (the tagging probe) must not
    // hold this pipe open.
    if (text && pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
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
        bool reading = true;
        auto write_all = [&](std::string_view piece) {
            const char* p = piece.data();
            size_t left = piece.size();
            while (reading && left > 0) {
                ssize_t n = write(pipefd[1], p, left);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    reading = false;  // as stopped reading; its status says why
                    break;
                }
                p += n;
                left -= static_cast<size_t>(n);
            }
        };
        (*text)(write_all);
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
            std::ifstream in(temp_, std::ios::binary | std::ios::ate);
            bytes.resize(static_cast<size_t>(std::max<std::streamoff>(0, in.tellg())));
            in.seekg(0);
            in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
            if (!in) throw std::runtime_error("cannot read the finished object " + temp_);
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

// The tag of tagged sites (tagged_sites.h): the NOP nopl disp32(%rax) with a
// displacement of the inputs' own, of printable bytes other than a quote or a
// backslash, so that it is as short in a string as it is in the object.
std::array<uint8_t, 7> tag_for(const std::vector<Source>& sources) {
    uint64_t h = 0xcbf29ce484222325;  // FNV-1a
    for (const Source& s : sources)
        for (char c : s.text) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3;
    std::array<uint8_t, 7> tag{0x0f, 0x1f, 0x80};
    for (size_t i = 3; i < 7; ++i, h >>= 11) {
        uint8_t b = static_cast<uint8_t>(0x23 + h % 90);
        tag[i] = b >= '\\' ? b + 1 : b;
    }
    return tag;
}

std::string temporary_file(const std::string& what) {
    const char* tmp = std::getenv("TMPDIR");
    std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/previrt-" + what + "-XXXXXX";
    int fd = mkstemp(path.data());
    if (fd < 0) throw std::runtime_error("cannot make a temporary file: " + std::string(std::strerror(errno)));
    close(fd);
    return path;
}

// Each text assembled alone, as 64-bit code with the invocation's options
// that choose encodings, by one run of as: the texts one after another, each
// followed by the tag, which then splits the code. Nothing for all where as
// refuses the lot (an instruction its options lack).
std::vector<std::optional<std::vector<uint8_t>>> encode_alone(const std::string& as, const Invocation& inv,
                                                              const std::array<uint8_t, 7>& tag,
                                                              const std::vector<std::string>& texts) {
    std::vector<std::optional<std::vector<uint8_t>>> out(texts.size());
    std::string tag_text = ".ascii \"";
    for (uint8_t b : tag) {
        char esc[5] = {'\\', char('0' + (b >> 6)), char('0' + ((b >> 3) & 7)), char('0' + (b & 7)), 0};
        tag_text += esc;
    }
    tag_text += "\"\n";
    std::string probe = ".text\n.code64\n";
    for (const std::string& t : texts) probe += t + "\n" + tag_text;
    std::vector<std::string> args;
    for (const std::string& a : inv.as_args)
        if (a == "--64" || a.starts_with("-O") || a.starts_with("-m")) args.push_back(a);
    std::string object = temporary_file("probe");
    struct Remove {
        std::string path;
        ~Remove() { unlink(path.c_str()); }
    } remove{object};
    args.push_back("-o");
    args.push_back(object);
    std::string messages;
    Producer probe_text = [&probe](const Sink& sink) { sink(probe); };
    if (run_real_as(as, args, &probe_text, &messages) != 0) return out;
    elf::File file = elf::File::load(object);
    auto text = file.find_section(".text");
    if (!text) return out;
    std::span<const uint8_t> code = file.sections()[*text].data;
    size_t at = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        auto hit = std::search(code.begin() + static_cast<std::ptrdiff_t>(at), code.end(), tag.begin(), tag.end());
        if (hit == code.end()) return std::vector<std::optional<std::vector<uint8_t>>>(texts.size());
        size_t end = static_cast<size_t>(hit - code.begin());
        out[i] = std::vector<uint8_t>(code.begin() + static_cast<std::ptrdiff_t>(at), hit);
        at = end + tag.size();
    }
    if (at != code.size()) return std::vector<std::optional<std::vector<uint8_t>>>(texts.size());
    return out;
}

// What rewriting the inputs said of them.
struct HookText {
    std::vector<std::string> warnings;
    size_t sites = 0;
    std::vector<std::string> places;  // without padding: each site's "file:line: mnemonic"
    TaggedSites tagged;
};

// The hook's text for all inputs, into `sink`: their sensitive instructions
// recorded (and padded, with `pad`; tagged where they qualify, with `tagging`).
HookText rewrite_inputs(const Invocation& inv, const std::vector<Source>& sources, const Annotations& annotations,
                        bool pad, const Tagging* tagging, const Sink& sink) {
    HookText out;
    for (const Source& source : sources) {
        // A line marker keeps the assembler's messages and debug lines naming the original file.
        if (source.file && source.name.find_first_of("\"\\\n") == std::string::npos)
            sink("# 1 \"" + source.name + "\"\n");
        RewriteOptions options;
        options.file_name = source.name;
        options.annotations = annotations.empty() ? nullptr : &annotations;
        options.initial_mode = inv.mode;
        options.pad = pad;
        options.tagging = tagging;
        bool newline = true;
        options.sink = [&](std::string_view part) {
            if (!part.empty()) newline = part.back() == '\n';
            sink(part);
        };
        RewriteResult r = rewrite(source.text, options);
        if (!newline) sink("\n");
        out.warnings.insert(out.warnings.end(), r.warnings.begin(), r.warnings.end());
        out.places.insert(out.places.end(), r.places.begin(), r.places.end());
        out.sites += r.site_count;
        out.tagged.tag = r.tagged.tag;
        out.tagged.count += r.tagged.count;
        for (TaggedEncoding& e : r.tagged.encodings) out.tagged.encodings.push_back(std::move(e));
    }
    return out;
}

// Tagging for these inputs: their tag, and each text's encoding learnt once
// (so that the text made again is tagged the same).
std::shared_ptr<Tagging> tagging_for(const std::string& as, const Invocation& inv, const std::vector<Source>& sources) {
    auto t = std::make_shared<Tagging>();
    t->tag = tag_for(sources);
    auto known = std::make_shared<std::map<std::string, std::optional<std::vector<uint8_t>>>>();
    t->encode = [as, &inv, tag = t->tag, known](const std::vector<std::string>& texts) {
        std::vector<std::string> fresh;
        for (const std::string& text : texts)
            if (!known->contains(text)) fresh.push_back(text);
        if (!fresh.empty()) {
            auto bytes = encode_alone(as, inv, tag, fresh);
            for (size_t i = 0; i < fresh.size(); ++i) (*known)[fresh[i]] = std::move(bytes[i]);
        }
        std::vector<std::optional<std::vector<uint8_t>>> out;
        for (const std::string& text : texts) out.push_back(known->at(text));
        return out;
    };
    return t;
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
// instead and the hook says which. Returns as's status; `text` makes the text
// as took once more, and `tagged` says what was tagged in it. With `tag`,
// sites of a 64-bit target that qualify are tagged; `again` (the same inputs
// once more, without tags) says nothing that the first time said already.
int assemble(const std::string& as, const Invocation& inv, const Annotations& annotations,
             const std::vector<Source>& sources, bool tag, bool again, Producer& text, TaggedSites& tagged) {
    std::shared_ptr<Tagging> tagging;
    if (tag && inv.mode == abi::kSiteMode64) tagging = tagging_for(as, inv, sources);
    // The producers outlive this call (`text`): what they capture, they own
    // or the caller does.
    auto padded_said = std::make_shared<HookText>();
    Producer padded_text = [&inv, &sources, &annotations, tagging, padded_said](const Sink& sink) {
        *padded_said = rewrite_inputs(inv, sources, annotations, true, tagging.get(), sink);
    };
    const HookText& padded = *padded_said;
    std::string messages;
    int status = run_real_as(as, inv.as_args, &padded_text, &messages);
    if (!again)
        for (const std::string& w : padded.warnings) std::cerr << kTag << "warning: " << w << "\n";
    if (status == 0 || padded.sites == 0) {
        if (!again || status != 0) std::cerr << messages;
        text = padded_text;
        tagged = padded.tagged;
        return status;
    }
    auto plain_said = std::make_shared<HookText>();
    Producer plain_text = [&inv, &sources, &annotations, plain_said](const Sink& sink) {
        *plain_said = rewrite_inputs(inv, sources, annotations, false, nullptr, sink);
    };
    const HookText& plain = *plain_said;
    std::string plain_messages;
    int plain_status = run_real_as(as, inv.as_args, &plain_text, &plain_messages);
    if (plain_status != 0) {
        std::cerr << plain_messages;  // the source's own errors, padding or not
        return plain_status;
    }
    tagged = {};
    text = plain_text;
    if (again) return 0;
    std::cerr << plain_messages << kTag << "warning: padding broke a layout the source fixes (as said: "
              << first_error(messages) << "); its " << plain.places.size() << " site(s) recorded without room:\n";
    for (const std::string& p : plain.places) std::cerr << kTag << "note: " << p << ": recorded without room\n";
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
// of `text` into `path`, which holds the finished object. Should that not give the same code,
// recorded, the first object stays and inspect names what is missing.
void record_late_sites(const std::string& as, const Invocation& inv, const Producer& text,
                       const TaggedSites& tagged, const std::string& path) {
    elf::File first = elf::File::load(path);
    sites::SiteTable table = sites::load_site_table(first, true);
    std::vector<Unrecorded> missed = unrecorded_instructions(first, table);
    std::vector<size_t> resets = mode_resets_needed(first, table);
    if (missed.empty() && resets.empty()) return;
    LateRecords late = late_records(first, missed, resets);
    bool recorded = false;
    if (late.sites || late.mode_resets) {
        Producer again = [&text, &late](const Sink& sink) {
            text(sink);
            sink(late.text);
        };
        std::string messages;  // what as said of this text the first time it said already
        if (run_real_as(as, inv.as_args, &again, &messages) == 0) {
            try {
                finish_object_file(path, &tagged);
                elf::File second = elf::File::load(path);
                recorded = same_code(first, second) &&
                           unrecorded_instructions(second, sites::load_site_table(second, true)).size() + late.sites ==
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
        std::vector<Source> sources = read_sources(inv);
        Producer text;
        TaggedSites tagged;
        if (int status = assemble(as, inv, annotations, sources, true, false, text, tagged); status != 0)
            return status;
        try {
            try {
                finish_object_file(object.path(), &tagged);
            } catch (const TaggedSitesMismatch&) {
                // The object does not show the tagged sites as the text has
                // them (a tag in the code by chance, a section the text pass
                // could not follow): the same inputs, every site in the site text.
                if (int status = assemble(as, inv, annotations, sources, false, true, text, tagged); status != 0)
                    return status;
                finish_object_file(object.path());
            }
            record_late_sites(as, inv, text, tagged, object.path());
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
