#include "afterburner/rewriter.h"

#include <algorithm>
#include <optional>
#include <set>

#include "previrt/site_asm.h"
#include "afterburner/asm_source.h"
#include "sites/catalogue.h"
#include "sites/insn_decoder.h"

namespace previrt::afterburner {

using namespace sites;  // the catalogue, the decoder and the site records
namespace {

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
        text.replace(pos, from.size(), to);
    return text;
}

// The site text comes from the ABI header's macros, instantiated with
// placeholders, so that the hook and the C markers cannot drift apart.
const std::string kEndTemplate = PREVIRT_SITE_END(@KIND@, @FLAGS@, @LENGTH@);
const std::string kEndLegacyTemplate = PREVIRT_SITE_END_LEGACY(@KIND@, @FLAGS@, @LENGTH@);
const std::string kEndNoRoomTemplate = PREVIRT_SITE_END_NO_ROOM(@KIND@, @FLAGS@);
const std::string kModeTemplate = PREVIRT_CODE_MODE(@FLAGS@);

bool has_word(std::string_view list, std::string_view word) {
    while (!list.empty()) {
        size_t sp = list.find(' ');
        if (list.substr(0, sp) == word) return true;
        if (sp == std::string_view::npos) break;
        list.remove_prefix(sp + 1);
    }
    return false;
}

enum class Syntax { Att, Intel };

// A register operand's name, without '%', lower-case; "" if the operand is not a bare register.
std::string register_name(std::string_view operand) {
    if (!operand.empty() && operand.front() == '%') operand.remove_prefix(1);
    std::string out;
    for (char c : operand) {
        // A macro argument may complete the name: %cr\reg.
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '\\') return "";
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

bool numbered(const std::string& r, size_t at) { return r.size() > at && (std::isdigit(r[at]) || r[at] == '\\'); }
bool is_control(const std::string& r) { return r.starts_with("cr") && numbered(r, 2); }
bool is_debug(const std::string& r) { return (r.starts_with("dr") || r.starts_with("db")) && numbered(r, 2); }
bool is_sreg(const std::string& r) {
    return r == "es" || r == "cs" || r == "ss" || r == "ds" || r == "fs" || r == "gs";
}

bool text_rule_holds(OperandRule rule, const std::vector<std::string_view>& ops, Syntax syntax) {
    std::string src, dst;
    if (ops.size() == 2) {
        src = register_name(syntax == Syntax::Att ? ops[0] : ops[1]);
        dst = register_name(syntax == Syntax::Att ? ops[1] : ops[0]);
    }
    switch (rule) {
    case OperandRule::None: return true;
    case OperandRule::ControlDest: return is_control(dst);
    case OperandRule::ControlSource: return is_control(src);
    case OperandRule::DebugDest: return is_debug(dst);
    case OperandRule::DebugSource: return is_debug(src);
    case OperandRule::SregDest: return is_sreg(dst);
    case OperandRule::SregSource: return is_sreg(src);
    case OperandRule::SregOperand: return ops.size() == 1 && is_sreg(register_name(ops[0]));
    case OperandRule::FarBranch: return true;  // the far forms have mnemonics of their own
    }
    return false;
}

const CatalogueEntry* classify_text(const Instruction& ins, Syntax syntax) {
    std::vector<std::string_view> ops = split_operands(ins.operands);
    if (syntax == Syntax::Intel && (ins.mnemonic == "jmp" || ins.mnemonic == "call")) {
        std::string lowered(ins.operands);
        for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lowered.find("far") != std::string::npos || lowered.find("fword") != std::string::npos)
            return find_entry(ins.mnemonic == "jmp" ? SiteKind::FarJmp : SiteKind::FarCall);
    }
    for (const CatalogueEntry& e : catalogue()) {
        if (has_word(e.att, ins.mnemonic) && text_rule_holds(e.rule, ops, syntax)) return &e;
    }
    return nullptr;
}

std::string first_word(std::string_view s) {
    size_t end = 0;
    while (end < s.size() && s[end] != ' ' && s[end] != '\t' && s[end] != ',') ++end;
    return std::string(s.substr(0, end));
}

// Whether `.section NAME, "FLAGS"` (or .pushsection) names a code section.
bool names_code_section(std::string_view operands) {
    std::vector<std::string_view> ops = split_operands(operands);
    if (ops.empty()) return false;
    if (ops.size() >= 2 && ops[1].starts_with('"')) return ops[1].find('x') != std::string_view::npos;
    std::string_view name = ops[0];
    return name == ".text" || name.starts_with(".text.") || name.ends_with(".text");
}

bool is_function_type(std::string_view operands) {
    std::vector<std::string_view> ops = split_operands(operands);
    if (ops.size() < 2) return false;
    std::string_view t = ops[1];
    return t == "@function" || t == "%function" || t == "STT_FUNC" || t == "\"function\"";
}

// An integer literal as GNU as writes one (decimal, 0x hex, 0b binary, 0 octal),
// if the operand is just that and fits in a byte.
std::optional<uint8_t> byte_literal(std::string_view t) {
    unsigned base = 10;
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) base = 16, t.remove_prefix(2);
    else if (t.size() > 2 && t[0] == '0' && (t[1] == 'b' || t[1] == 'B')) base = 2, t.remove_prefix(2);
    else if (t.size() > 1 && t[0] == '0') base = 8, t.remove_prefix(1);
    if (t.empty()) return std::nullopt;
    unsigned value = 0;
    for (char c : t) {
        unsigned d = std::isdigit(static_cast<unsigned char>(c)) ? unsigned(c - '0')
                     : std::isxdigit(static_cast<unsigned char>(c)) ? unsigned(std::tolower(c) - 'a' + 10)
                                                                     : 99;
        if (d >= base) return std::nullopt;
        value = value * base + d;
        if (value > 0xff) return std::nullopt;
    }
    return static_cast<uint8_t>(value);
}

struct Insertion {
    size_t line;
    size_t column;
    std::string text;
};

class Rewriter {
public:
    Rewriter(std::string_view source, const RewriteOptions& options) : options_(options), source_(source) {
        mode_ = options.initial_mode;
    }

    RewriteResult run() {
        std::vector<std::string_view> lines = split_lines(source_);
        std::vector<Statement> statements = split_statements(lines, options_.file_name);
        // A macro may be named like an instruction and defined after its first use
        // in another macro's body: know every macro name before rewriting.
        for (const Statement& s : statements) {
            Instruction ins = parse_instruction(s.text);
            if (ins.mnemonic == ".macro") macros_.insert(first_word(ins.operands));
        }
        statements_ = &statements;
        for (next_ = 0; next_ < statements.size();) visit(statements[next_++]);
        result_.text = apply(lines);
        return std::move(result_);
    }

private:
    void warn(const Statement& s, const std::string& message) {
        result_.warnings.push_back(s.source_file + ":" + std::to_string(s.source_line) + ": " + message);
    }

    void visit(const Statement& s) {
        Instruction ins = parse_instruction(s.text);
        for (std::string_view label : ins.labels) {
            if (functions_.contains(std::string(label))) {
                function_ = std::string(label);
                ordinal_ = 0;
                countable_ = true;
            }
        }
        if (ins.mnemonic.empty()) {
            if (!ins.prefixes.empty()) pending_prefix_ = Insertion{s.line, s.begin + ins.head, {}};
            return;
        }
        if (ins.mnemonic == ".byte" && in_code_) {
            pending_prefix_.reset();
            byte_instruction(s, ins);
            return;
        }
        if (ins.mnemonic.front() == '.') {
            pending_prefix_.reset();
            directive(s, ins);
            return;
        }
        if (ins.operands.starts_with("=") || ins.mnemonic.front() == '\\') {  // an assignment or macro argument
            pending_prefix_.reset();
            return;
        }
        if (macros_.contains(ins.mnemonic)) {
            // A macro of this file: it expands to instructions this pass cannot count.
            countable_ = false;
            pending_prefix_.reset();
            return;
        }
        instruction(s, ins);
    }

    void directive(const Statement& s, const Instruction& ins) {
        const std::string& d = ins.mnemonic;
        if (d == ".code16" || d == ".code16gcc") set_mode(s, abi::kSiteMode16);
        else if (d == ".code32") set_mode(s, abi::kSiteMode32);
        else if (d == ".code64") set_mode(s, abi::kSiteMode64);
        else if (d == ".intel_syntax") syntax_ = Syntax::Intel;
        else if (d == ".att_syntax") syntax_ = Syntax::Att;
        else if (d == ".type" && is_function_type(ins.operands)) functions_.insert(first_word(ins.operands));
        else section_directive(s, d, ins.operands);
    }

    // Follows the assembler's section stack far enough to know whether code
    // follows, so that every code section entered after a .code16/.code32 gets
    // a code-mode record (and no data section gets one).
    void section_directive(const Statement& s, std::string_view d, std::string_view operands) {
        bool exec = in_code_;
        if (d == ".text") exec = true;
        else if (d == ".data" || d == ".bss") exec = false;
        else if (d == ".section" || d == ".pushsection") exec = names_code_section(operands);
        else if (d == ".previous") exec = previous_code_;
        else if (d == ".popsection") {
            if (section_stack_.empty()) return;
            exec = section_stack_.back().first;
            previous_code_ = section_stack_.back().second;
            section_stack_.pop_back();
        } else {
            return;
        }
        if (d == ".pushsection") section_stack_.emplace_back(in_code_, previous_code_);
        if (d != ".popsection") previous_code_ = in_code_;
        in_code_ = exec;
        if (mode_markers_ && in_code_) insert_after(s, code_mode_text(mode_));
    }

    void set_mode(const Statement& s, uint8_t mode) {
        mode_ = mode;
        if (mode != abi::kSiteMode64) mode_markers_ = true;
        if (mode_markers_ && in_code_) insert_after(s, code_mode_text(mode_));
    }

    // Kernels write instructions the assembler of their day did not know as
    // .byte (clac, monitor, xsaves...): a .byte list in code that is exactly
    // one instruction counts as that instruction.
    void byte_instruction(const Statement& s, const Instruction& ins) {
        std::vector<uint8_t> bytes;
        for (std::string_view op : split_operands(ins.operands)) {
            std::optional<uint8_t> b = byte_literal(op);
            if (!b) return;
            bytes.push_back(*b);
        }
        if (bytes.empty()) return;
        auto d = InsnDecoder(mode_).decode(bytes);
        if (!d || d->insn.length != bytes.size()) return;
        if (!is_nop(*d)) ++ordinal_;
        const CatalogueEntry* entry = classify(*d);
        if (!entry) return;
        insertions_.push_back(Insertion{s.line, s.begin + ins.head, site_begin_text()});
        insert_after(s, site_end_text(entry->kind, mode_, options_.pad ? entry->site_length : 0, legacy_target()));
        note_site(s, entry->name);
        ++result_.sites[entry->kind];
    }

    void instruction(const Statement& s, const Instruction& ins) {
        std::optional<Insertion> prefix = std::exchange(pending_prefix_, std::nullopt);
        bool nop = ins.mnemonic.starts_with("nop");
        uint32_t ordinal = ordinal_;
        if (!nop) ++ordinal_;

        const CatalogueEntry* entry = classify_text(ins, syntax_);
        uint8_t flags = mode_;
        if (!entry && countable_ && !nop && options_.annotations && !function_.empty()) {
            if (const Annotation* a = options_.annotations->find(function_, ordinal)) {
                if (mnemonic_matches(ins.mnemonic, a->mnemonic)) {
                    entry = find_entry(a->kind);
                    flags |= abi::kSiteProfile;
                    ++result_.annotations_applied;
                } else {
                    warn(s, "annotation " + function_ + " " + std::to_string(ordinal) + " expects '" + a->mnemonic +
                                "' but finds '" + ins.mnemonic + "': the profile is stale; not annotated");
                }
            }
        }
        if (!entry) return;

        Insertion begin = prefix ? *prefix : Insertion{s.line, s.begin + ins.head, {}};
        begin.text = site_begin_text();
        insertions_.push_back(std::move(begin));
        uint8_t length = entry->site_length;
        if (entry->kind == SiteKind::Sti && !prefix) {
            // `sti; hlt` waits for an interrupt with none taken in between:
            // the interrupt shadow covers the one instruction after sti.
            // Padding would put the NOPs in the shadow and let an interrupt
            // in before the hlt, which then sleeps until the next one. So the
            // sti gets no scratch space and the two stay adjacent; an in-place
            // VMM rewrites the pair as one (docs/site-records.md).
            Shadowed next = shadowed_next();
            if (next == Shadowed::Wait) length = 0;
            else if (next == Shadowed::LabelledWait)
                warn(s, "sti before a labelled hlt/mwait: padded, so its interrupt shadow no longer covers the wait");
        }
        insert_after(s, site_end_text(entry->kind, flags, options_.pad ? length : 0, legacy_target()));
        note_site(s, ins.mnemonic);
        ++result_.sites[entry->kind];
    }

    void note_site(const Statement& s, std::string_view what) {
        result_.places.push_back(s.source_file + ":" + std::to_string(s.source_line) + ": " + std::string(what));
    }

    enum class Shadowed { Other, Wait, LabelledWait };

    // What follows the statement being visited: a hlt or mwait (written out or
    // as a .byte list), with or without a label in front of it, or anything else.
    Shadowed shadowed_next() const {
        bool labelled = false;
        for (size_t i = next_; i < statements_->size(); ++i) {
            Instruction ins = parse_instruction((*statements_)[i].text);
            labelled = labelled || !ins.labels.empty();
            if (ins.mnemonic.empty()) {
                if (!ins.prefixes.empty()) return Shadowed::Other;
                continue;
            }
            bool wait = ins.mnemonic == "hlt" || ins.mnemonic == "mwait" || ins.mnemonic == "mwaitx";
            if (ins.mnemonic == ".byte" && in_code_) {
                std::vector<uint8_t> bytes;
                for (std::string_view op : split_operands(ins.operands)) {
                    std::optional<uint8_t> b = byte_literal(op);
                    if (!b) return Shadowed::Other;
                    bytes.push_back(*b);
                }
                auto d = InsnDecoder(mode_).decode(bytes);
                const CatalogueEntry* e = d && d->insn.length == bytes.size() ? classify(*d) : nullptr;
                wait = e && (e->kind == SiteKind::Hlt || e->kind == SiteKind::Mwait);
            }
            if (!wait) return Shadowed::Other;
            return labelled ? Shadowed::LabelledWait : Shadowed::Wait;
        }
        return Shadowed::Other;
    }

    bool legacy_target() const { return options_.initial_mode != abi::kSiteMode64; }

    void insert_after(const Statement& s, std::string text) {
        insertions_.push_back(Insertion{s.line, s.end, ";" + std::move(text)});
    }

    std::string apply(const std::vector<std::string_view>& lines) {
        std::stable_sort(insertions_.begin(), insertions_.end(), [](const Insertion& a, const Insertion& b) {
            return a.line != b.line ? a.line < b.line : a.column < b.column;
        });
        std::string out;
        out.reserve(source_.size() + insertions_.size() * 200);
        size_t next = 0;
        for (size_t li = 0; li < lines.size(); ++li) {
            std::string_view line = lines[li];
            size_t col = 0;
            for (; next < insertions_.size() && insertions_[next].line == li; ++next) {
                out.append(line.substr(col, insertions_[next].column - col));
                out.append(insertions_[next].text);
                col = insertions_[next].column;
            }
            out.append(line.substr(col));
            if (li + 1 < lines.size() || source_.ends_with('\n')) out.push_back('\n');
        }
        return out;
    }

    const RewriteOptions& options_;
    std::string_view source_;
    RewriteResult result_;
    std::vector<Insertion> insertions_;
    const std::vector<Statement>* statements_ = nullptr;
    size_t next_ = 0;  // the statement after the one being visited
    std::optional<Insertion> pending_prefix_;
    std::set<std::string, std::less<>> macros_;
    std::set<std::string, std::less<>> functions_;
    std::string function_;
    uint32_t ordinal_ = 0;
    bool countable_ = false;
    uint8_t mode_ = abi::kSiteMode64;
    bool mode_markers_ = false;
    bool in_code_ = true;  // the assembler starts in .text
    bool previous_code_ = true;
    std::vector<std::pair<bool, bool>> section_stack_;  // (in code, previous in code)
    Syntax syntax_ = Syntax::Att;
};

}  // namespace

std::string site_begin_text() { return PREVIRT_SITE_BEGIN; }

std::string site_end_text(SiteKind kind, uint8_t flags, uint8_t length, bool legacy_target) {
    // For an i386 target GNU as lays out .nops with lea forms even in .code64.
    bool multi_byte = (flags & abi::kSiteModeMask) == abi::kSiteMode64 && !legacy_target;
    // No room: no padding directive either, so that the code's layout is the
    // source's to the letter (a .nops of any size makes `. - label` a value as
    // only knows at the end, which `.if` and `.org` cannot wait for).
    std::string t = length == 0 ? kEndNoRoomTemplate : multi_byte ? kEndTemplate : kEndLegacyTemplate;
    t = replace_all(std::move(t), "@KIND@", std::to_string(static_cast<unsigned>(kind)));
    t = replace_all(std::move(t), "@FLAGS@", std::to_string(flags));
    return replace_all(std::move(t), "@LENGTH@", std::to_string(length));
}

std::string code_mode_text(uint8_t mode) { return replace_all(kModeTemplate, "@FLAGS@", std::to_string(mode)); }

RewriteResult rewrite(std::string_view source, const RewriteOptions& options) {
    return Rewriter(source, options).run();
}

}  // namespace previrt::afterburner
