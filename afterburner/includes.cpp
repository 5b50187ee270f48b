#include "afterburner/includes.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>

#include "afterburner/asm_source.h"
#include "afterburner/text_file.h"

namespace previrt::afterburner {
namespace {

constexpr unsigned kMaxDepth = 100;
// An included file larger than this is no source (`.include "/dev/zero"`).
constexpr size_t kMaxIncludedBytes = size_t{256} << 20;

// The file name of `.include "NAME"`, if that is what the statement is and
// NAME can stand in a line marker (no quote, backslash or newline; a macro
// argument in it is the assembler's to resolve).
std::optional<std::string> included_name(const Statement& s) {
    Instruction ins = parse_instruction(s.text);
    if (ins.mnemonic != ".include" || !ins.labels.empty()) return std::nullopt;
    std::string_view op = ins.operands;
    if (op.size() < 2 || op.front() != '"' || op.back() != '"') return std::nullopt;
    std::string name(op.substr(1, op.size() - 2));
    if (name.empty() || name.find_first_of("\"\\\n") != std::string::npos) return std::nullopt;
    return name;
}

std::string marker(size_t line, const std::string& file) { return "# " + std::to_string(line) + " \"" + file + "\"\n"; }

class Expander {
public:
    explicit Expander(const std::vector<std::string>& dirs) : dirs_(dirs) {}

    std::string expand(std::string_view text, const std::string& file_name, unsigned depth) {
        std::vector<std::string_view> lines = split_lines(text);
        std::vector<Statement> statements = split_statements(text, file_name);
        std::string out;
        size_t copied = 0;  // lines before this one are in `out`
        size_t column = 0;  // of line `copied`
        for (const Statement& s : statements) {
            std::optional<std::string> name = included_name(s);
            if (!name) continue;
            for (; copied < s.line; ++copied, column = 0) out.append(lines[copied].substr(column)).push_back('\n');
            out.append(lines[s.line].substr(column, s.begin - column)).push_back('\n');
            out += include(s, *name, depth);
            out += marker(s.source_line, *s.source_file);
            column = s.end;
        }
        for (; copied < lines.size(); ++copied, column = 0) out.append(lines[copied].substr(column)).push_back('\n');
        return out;
    }

private:
    std::string include(const Statement& s, const std::string& name, unsigned depth) {
        std::string where = *s.source_file + ":" + std::to_string(s.source_line) + ": ";
        if (depth >= kMaxDepth)
            throw IncludeError(where + ".include nested more than " + std::to_string(kMaxDepth) +
                               " deep (a file that includes itself?)");
        std::string path = find(name);
        std::string text;
        try {
            text = read_text_file(path, kMaxIncludedBytes);
        } catch (const InputError& e) {
            throw IncludeError(where + e.what());
        }
        return marker(1, path) + expand(text, path, depth + 1);
    }

    std::string find(const std::string& name) const {
        if (name.front() == '/' || access(name.c_str(), R_OK) == 0) return name;
        for (const std::string& dir : dirs_) {
            std::string candidate = dir + "/" + name;
            if (access(candidate.c_str(), R_OK) == 0) return candidate;
        }
        return name;  // the error names it as written
    }

    const std::vector<std::string>& dirs_;
};

}  // namespace

std::string expand_includes(std::string_view text, const std::string& file_name,
                            const std::vector<std::string>& include_dirs) {
    // Most sources include nothing: left as they are, without a second split.
    static constexpr std::string_view kWord = "include";
    bool mentioned = false;
    for (size_t i = 0; !mentioned && i + kWord.size() <= text.size(); ++i)
        mentioned = std::tolower(static_cast<unsigned char>(text[i])) == 'i' &&
                    std::equal(kWord.begin(), kWord.end(), text.begin() + i,
                               [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
    if (!mentioned) return std::string(text);
    return Expander(include_dirs).expand(text, file_name, 0);
}

}  // namespace previrt::afterburner
