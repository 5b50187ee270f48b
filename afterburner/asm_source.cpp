#include "afterburner/asm_source.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace previrt::afterburner {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$' || c == '\\' ||
           c == '@';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// "# 12 "file.S" 1 3" as left by the C preprocessor: the next line is line 12 of file.S.
bool parse_line_marker(std::string_view line, size_t& number, std::string& file) {
    line = trim(line);
    if (line.size() < 3 || line[0] != '#') return false;
    line.remove_prefix(1);
    line = trim(line);
    if (line.starts_with("line")) line = trim(line.substr(4));
    size_t n = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), n);
    if (ec != std::errc() || ptr == line.data()) return false;
    std::string_view rest = trim(line.substr(static_cast<size_t>(ptr - line.data())));
    if (!rest.empty()) {
        if (rest[0] != '"') return false;
        size_t close = rest.find('"', 1);
        if (close == std::string_view::npos) return false;
        file.assign(rest.substr(1, close - 1));
    }
    number = n;
    return true;
}

}  // namespace

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

StatementSplitter::StatementSplitter(std::string_view text, std::string_view file_name)
    : text_(text), file_name_(std::make_shared<const std::string>(file_name)), source_file_(file_name_) {}

bool StatementSplitter::next(Line& out) {
    out.statements.clear();
    for (;;) {
        if (pos_ >= text_.size()) return false;
        size_t nl = text_.find('\n', pos_);
        std::string_view line = text_.substr(pos_, nl == std::string_view::npos ? std::string_view::npos : nl - pos_);
        out.index = index_++;
        out.text = line;
        out.terminated = nl != std::string_view::npos;
        pos_ = out.terminated ? nl + 1 : text_.size();
        size_t source_line = source_line_++;

        size_t marker_line = 0;
        std::string marker_file = *source_file_;
        if (!in_block_comment_ && parse_line_marker(line, marker_line, marker_file)) {
            if (marker_file.empty()) {
                // gcc's "# 0 "" 2" after inline assembly: back to the file itself.
                source_file_ = file_name_;
                source_line_ = out.index + 2;
            } else {
                if (marker_file != *source_file_) source_file_ = std::make_shared<const std::string>(marker_file);
                source_line_ = marker_line;
            }
            return true;  // a line without statements
        }

        std::string clean(line);  // comments blanked, same columns as `line`
        size_t stmt_start = 0;
        auto flush = [&](size_t stop) {
            std::string_view piece(clean.data() + stmt_start, stop - stmt_start);
            size_t first = 0;
            while (first < piece.size() && is_space(piece[first])) ++first;
            size_t last = piece.size();
            while (last > first && is_space(piece[last - 1])) --last;
            if (first < last) {
                out.statements.push_back(Statement{out.index, stmt_start + first, stmt_start + last,
                                                   std::string(piece.substr(first, last - first)), source_file_,
                                                   source_line});
            }
        };

        size_t first_non_blank = 0;
        while (first_non_blank < line.size() && is_space(line[first_non_blank])) ++first_non_blank;

        size_t i = 0;
        while (i < line.size()) {
            char c = line[i];
            if (in_block_comment_) {
                if (c == '*' && i + 1 < line.size() && line[i + 1] == '/') {
                    clean[i] = clean[i + 1] = ' ';
                    in_block_comment_ = false;
                    i += 2;
                } else {
                    clean[i++] = ' ';
                }
                continue;
            }
            if (c == '/' && i + 1 < line.size() && line[i + 1] == '*') {
                clean[i] = clean[i + 1] = ' ';
                in_block_comment_ = true;
                i += 2;
                continue;
            }
            if (c == '#' || (c == '/' && i == first_non_blank)) {
                std::fill(clean.begin() + static_cast<std::ptrdiff_t>(i), clean.end(), ' ');
                break;
            }
            if (c == '"') {
                ++i;
                while (i < line.size() && line[i] != '"') i += (line[i] == '\\' && i + 1 < line.size()) ? 2 : 1;
                ++i;
                continue;
            }
            if (c == '\'') {
                // A character constant: 'c, '\n, and the 'c' some sources write.
                ++i;
                if (i < line.size() && line[i] == '\\') ++i;
                ++i;
                if (i < line.size() && line[i] == '\'') ++i;
                continue;
            }
            if (c == ';') {
                flush(i);
                stmt_start = i + 1;
            }
            ++i;
        }
        flush(std::min(line.size(), clean.size()));
        return true;
    }
}

std::vector<Statement> split_statements(std::string_view text, std::string_view file_name) {
    std::vector<Statement> out;
    StatementSplitter splitter(text, file_name);
    StatementSplitter::Line line;
    while (splitter.next(line))
        for (Statement& s : line.statements) out.push_back(std::move(s));
    return out;
}

bool is_prefix(std::string_view word) {
    static constexpr std::array<std::string_view, 23> kPrefixes = {
        "lock", "rep",  "repe", "repz", "repne", "repnz",  "data16", "data32", "addr16", "addr32", "rex", "rex64",
        "rexw", "cs",   "ds",   "es",   "fs",    "gs",     "ss",     "notrack", "bnd",   "xacquire", "xrelease",
    };
    if (word.size() > 2 && word.front() == '{' && word.back() == '}') return true;  // {disp32}, {load}, ...
    if (word.starts_with("rex.")) return true;
    return std::ranges::find(kPrefixes, word) != kPrefixes.end();
}

Instruction parse_instruction(std::string_view text) {
    Instruction ins;
    size_t i = 0;
    auto skip_space = [&] { while (i < text.size() && is_space(text[i])) ++i; };
    for (;;) {
        skip_space();
        size_t start = i;
        if (i < text.size() && text[i] == '"') {  // a quoted symbol name
            ++i;
            while (i < text.size() && text[i] != '"') ++i;
            if (i < text.size()) ++i;
        } else if (i < text.size() && text[i] == '{') {  // a pseudo-prefix
            while (i < text.size() && text[i] != '}') ++i;
            if (i < text.size()) ++i;
        } else {
            while (i < text.size() && is_word_char(text[i])) ++i;
        }
        std::string_view word = text.substr(start, i - start);
        if (word.empty()) {
            ins.operands = trim(text.substr(start));
            if (ins.prefixes.empty()) ins.head = start;
            return ins;
        }
        size_t after = i;
        skip_space();
        if (i < text.size() && text[i] == ':' && ins.prefixes.empty() &&
            !(i + 1 < text.size() && text[i + 1] == ':')) {
            ins.labels.push_back(word);
            ++i;
            continue;
        }
        std::string lw = lower(word);
        if (is_prefix(lw)) {
            if (ins.prefixes.empty()) ins.head = start;
            ins.prefixes.push_back(std::move(lw));
            continue;
        }
        if (ins.prefixes.empty()) ins.head = start;
        ins.mnemonic = std::move(lw);
        ins.operands = trim(text.substr(after));
        return ins;
    }
}

std::vector<std::string_view> split_operands(std::string_view operands) {
    std::vector<std::string_view> out;
    int depth = 0;
    size_t start = 0;
    for (size_t i = 0; i < operands.size(); ++i) {
        char c = operands[i];
        if (c == '(' || c == '[') ++depth;
        else if ((c == ')' || c == ']') && depth > 0) --depth;
        else if (c == ',' && depth == 0) {
            out.push_back(trim(operands.substr(start, i - start)));
            start = i + 1;
        }
    }
    std::string_view last = trim(operands.substr(start));
    if (!last.empty() || !out.empty()) out.push_back(last);
    return out;
}

}  // namespace previrt::afterburner
