// GNU as source text, split the way the assembler splits it: into lines, then
// into statements at ';', with '#' and '/* */' comments and string and character
// constants understood. Positions map back into the original text so that the
// rewriter can insert around a statement and leave every other byte alone.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace previrt::afterburner {

struct Statement {
    size_t line = 0;   // 0-based index into the split lines
    size_t begin = 0;  // column of the first character
    size_t end = 0;    // column one past the last character (comments excluded)
    std::string text;  // the statement with comments blanked out, trimmed
    // Where the statement came from, after "# N "file"" line markers.
    std::shared_ptr<const std::string> source_file;
    size_t source_line = 0;  // 1-based
};

// The same split, a line at a time, for a source too large to hold split.
class StatementSplitter {
public:
    StatementSplitter(std::string_view text, std::string_view file_name);

    struct Line {
        size_t index = 0;          // 0-based
        std::string_view text;     // without its '\n'
        bool terminated = false;   // a '\n' follows it
        std::vector<Statement> statements;
    };
    // The next line and its statements; false after the last.
    bool next(Line& line);

private:
    std::string_view text_;
    size_t pos_ = 0;
    size_t index_ = 0;
    bool in_block_comment_ = false;
    std::shared_ptr<const std::string> file_name_, source_file_;
    size_t source_line_ = 1;
};

// Splits at '\n', keeping no terminators; a final line without '\n' is kept.
std::vector<std::string_view> split_lines(std::string_view text);

std::vector<Statement> split_statements(std::string_view text, std::string_view file_name);

// A statement taken apart: labels, instruction prefixes, mnemonic, operands.
struct Instruction {
    std::vector<std::string_view> labels;
    std::vector<std::string> prefixes;  // lower-case
    size_t head = 0;                    // offset in Statement::text of the first prefix or the mnemonic
    std::string mnemonic;               // lower-case; empty for a label- or prefix-only statement
    std::string_view operands;          // the rest, trimmed
};

Instruction parse_instruction(std::string_view statement_text);

// The operands split at top-level commas, each trimmed.
std::vector<std::string_view> split_operands(std::string_view operands);

bool is_prefix(std::string_view word);

}  // namespace previrt::afterburner
