#include "afterburner/rewriter.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

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

// Whether the text has "macro" in it, in any case: a cheap test before a statement is parsed.
bool mentions_macro(std::string_view text) {
    for (size_t i = 0; i + 5 <= text.size(); ++i)
        if ((text[i] | 0x20) == 'm' && (text[i + 1] | 0x20) == 'a' && (text[i + 2] | 0x20) == 'c' &&
            (text[i + 3] | 0x20) == 'r' && (text[i + 4] | 0x20) == 'o')
            return true;
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
        out += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
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

// The catalogue's entries by AT&T spelling.
const std::unordered_map<std::string_view, std::vector<const CatalogueEntry*>>& entries_by_spelling() {
    static const auto* by = [] {
        auto* m = new std::unordered_map<std::string_view, std::vector<const CatalogueEntry*>>;
        for (const CatalogueEntry& e : catalogue()) {
            std::string_view list = e.att;
            while (!list.empty()) {
                size_t sp = list.find(' ');
                std::string_view word = list.substr(0, sp);
                if (!word.empty()) (*m)[word].push_back(&e);
                if (sp == std::string_view::npos) break;
                list.remove_prefix(sp + 1);
            }
        }
        return m;
    }();
    return *by;
}

const CatalogueEntry* classify_text(const Instruction& ins, Syntax syntax) {
    bool far = syntax == Syntax::Intel && (ins.mnemonic == "jmp" || ins.mnemonic == "call");
    auto found = entries_by_spelling().find(ins.mnemonic);
    if (!far && found == entries_by_spelling().end()) return nullptr;
    std::vector<std::string_view> ops = split_operands(ins.operands);
    if (syntax == Syntax::Intel && (ins.mnemonic == "jmp" || ins.mnemonic == "call")) {
        std::string lowered(ins.operands);
        for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lowered.find("far") != std::string::npos || lowered.find("fword") != std::string::npos)
            return find_entry(ins.mnemonic == "jmp" ? SiteKind::FarJmp : SiteKind::FarCall);
    }
    if (found == entries_by_spelling().end()) return nullptr;
    for (const CatalogueEntry* e : found->second)  // in catalogue order
        if (text_rule_holds(e->rule, ops, syntax)) return e;
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

// An operand whose encoding cannot depend on the context: a register, or an
// immediate that is a number (`$0x60`), or `(%dx)`.
bool context_free_operand(std::string_view op) {
    if (op.starts_with("(") && op.ends_with(")")) op = op.substr(1, op.size() - 2);
    if (op.starts_with("%")) {
        if (op.size() < 2) return false;
        for (char c : op.substr(1))
            if (!std::isalnum(static_cast<unsigned char>(c))) return false;
        return true;
    }
    if (!op.starts_with("$") || op.size() < 2) return false;
    op.remove_prefix(1);
    if (op.starts_with("-")) op.remove_prefix(1);
    if (op.size() > 2 && op[0] == '0' && (op[1] == 'x' || op[1] == 'X')) {
        op.remove_prefix(2);
        return std::all_of(op.begin(), op.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    }
    return !op.empty() && std::all_of(op.begin(), op.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// A section's name as a directive gives it, "" where it may be one of several
// sections of that name (a COMDAT group) or is not plain.
std::string section_key(std::string_view d, std::string_view operands) {
    if (d == ".text") return ".text";
    std::vector<std::string_view> ops = split_operands(operands);
    if (ops.empty()) return "";
    std::string_view name = ops[0];
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    if (name.empty() || name.find_first_of("\\\" ") != std::string_view::npos) return "";
    if (ops.size() >= 2 && ops[1].find('G') != std::string_view::npos) return "";
    for (std::string_view op : ops)
        if (op == "comdat" || op == "unique") return "";
    return std::string(name);
}

constexpr size_t kShortTagLength = 6;
// Candidates met after tagging began wait, untagged, until this many wait or
// one of them has been used this many times; then they are encoded together.
constexpr size_t kEncodeBatch = 16;

class Rewriter {
public:
    Rewriter(std::string_view source, const RewriteOptions& options) : options_(options), source_(source) {
        mode_ = options.initial_mode;
    }

    RewriteResult run() {
        // A macro may be named like an instruction and defined after its first use
        // in another macro's body: know every macro name before rewriting.
        if (mentions_macro(source_)) {
            for (const Statement& s : split_statements(source_, options_.file_name)) {
                if (!mentions_macro(s.text)) continue;
                Instruction ins = parse_instruction(s.text);
                if (ins.mnemonic == ".macro") macros_.insert(first_word(ins.operands));
            }
        }
        if (!options_.sink) out_.reserve(source_.size() + source_.size() / 4);
        for (size_t at = 0;; ++at) {
            if (at >= window_.size() && !fetch()) break;
            current_ = at;
            for (next_ = 0; next_ < window_[at].line.statements.size();) visit(window_[at].line.statements[next_++]);
            window_[at].visited = true;
            // Lines no insertion can reach any more go out: all before the
            // line of a prefix waiting for its instruction.
            size_t hold = pending_prefix_ ? pending_prefix_->line : SIZE_MAX;
            while (!window_.empty() && window_.front().visited && window_.front().line.index < hold) {
                write_line(window_.front());
                retire_front();
                --at;
            }
        }
        while (!window_.empty()) {
            write_line(window_.front());
            retire_front();
        }
        if (options_.sink) options_.sink(out_);
        else result_.text = std::move(out_);
        return std::move(result_);
    }

private:
    struct WindowLine {
        StatementSplitter::Line line;
        std::vector<Insertion> insertions;
        bool visited = false;
    };

    void warn(const Statement& s, const std::string& message) {
        result_.warnings.push_back(*s.source_file + ":" + std::to_string(s.source_line) + ": " + message);
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
        if (d == ".macro" || d == ".rept" || d == ".irp" || d == ".irpc") ++body_depth_;
        else if ((d == ".endm" || d == ".endr") && body_depth_ > 0) --body_depth_;
        else if (d.starts_with(".if")) ++cond_depth_;
        else if (d == ".endif" && cond_depth_ > 0) --cond_depth_;
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
        SectionState next = section_;
        if (d == ".text") next = {true, ".text"};
        else if (d == ".data" || d == ".bss") next = {false, ""};
        else if (d == ".section" || d == ".pushsection") next = {names_code_section(operands), section_key(d, operands)};
        else if (d == ".previous") next = previous_;
        else if (d == ".popsection") {
            if (section_stack_.empty()) return;
            next = section_stack_.back().first;
            previous_ = section_stack_.back().second;
            section_stack_.pop_back();
        } else {
            return;
        }
        if (d == ".pushsection") section_stack_.emplace_back(section_, previous_);
        if (d != ".popsection") previous_ = section_;
        section_ = std::move(next);
        in_code_ = section_.code;
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
        emit_site(s, Insertion{s.line, s.begin + ins.head, {}}, std::string_view(s.text).substr(ins.head),
                  entry->kind, mode_, entry->site_length, true);
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
        bool context_free = !prefix && flags == mode_ && length == entry->site_length &&
                            std::ranges::all_of(split_operands(ins.operands), context_free_operand);
        emit_site(s, std::move(begin), std::string_view(s.text).substr(ins.head), entry->kind, flags, length,
                  context_free);
        note_site(s, ins.mnemonic);
        ++result_.sites[entry->kind];
    }

    // Wraps the instruction from `begin` to the end of `s` in the site text,
    // or tags it (tagged_sites.h) where its encoding is context-free, it is
    // not in a macro body or a conditional (where the text cannot count its
    // expansions), and its section has an ordinary site already to anchor it.
    void emit_site(const Statement& s, Insertion begin, std::string_view text, SiteKind kind, uint8_t flags,
                   uint8_t length, bool context_free) {
        bool plain_scope = body_depth_ == 0 && cond_depth_ == 0;
        bool anchor = plain_scope && !section_.key.empty() && !anchored_.contains(section_.key);
        if (anchor) anchored_.insert(section_.key);
        if (options_.tagging && options_.pad && context_free && plain_scope && !anchor && !section_.key.empty() &&
            mode_ == abi::kSiteMode64 && !legacy_target() && syntax_ == Syntax::Att && length > kShortTagLength) {
            std::string key(text);
            key += {'\0', static_cast<char>(kind), static_cast<char>(flags), static_cast<char>(length)};
            auto [it, fresh] = candidate_ids_.try_emplace(std::move(key), candidates_.size());
            if (fresh) candidates_.push_back(Candidate{std::string(text), kind, flags, length});
            Candidate& c = candidates_[it->second];
            // Tagging begins once the source has shown enough candidates;
            // those met later wait to be encoded in batches, untagged meanwhile.
            // The text alone decides, so the same source is always tagged alike.
            if (!engaged_ && ++candidate_uses_ >= options_.tagging->min_sites) {
                engaged_ = true;
                for (size_t k = 0; k < candidates_.size(); ++k) pending_.push_back(k);
                encode_pending();
            } else if (engaged_ && c.state == Candidate::Unknown) {
                if (fresh) pending_.push_back(it->second);
                if (++c.waiting >= kEncodeBatch || pending_.size() >= kEncodeBatch) encode_pending();
            }
            if (c.state == Candidate::Tagged) {
                insert_after(s, c.end);
                ++result_.tagged.count;
                return;
            }
        }
        begin.text = site_begin_text();
        insert(std::move(begin));
        insert_after(s, site_end_text(kind, flags, options_.pad ? length : 0, legacy_target()));
    }

    // Learns the bytes of the pending candidates; those that give none, or
    // too many for the tag to follow within the site, keep the site text.
    void encode_pending() {
        std::vector<std::string> texts;
        for (size_t k : pending_) texts.push_back(candidates_[k].text);
        std::vector<std::optional<std::vector<uint8_t>>> bytes = options_.tagging->encode(texts);
        const auto& tag = options_.tagging->tag;
        result_.tagged.tag = tag;
        for (size_t i = 0; i < pending_.size(); ++i) {
            Candidate& c = candidates_[pending_[i]];
            c.state = Candidate::Untagged;
            const std::array<uint8_t, 6> short_tag = short_tag_of(tag);
            if (i >= bytes.size() || !bytes[i] || bytes[i]->empty() ||
                bytes[i]->size() + short_tag.size() > c.length ||
                std::search(bytes[i]->begin(), bytes[i]->end(), tag.begin(), tag.end()) != bytes[i]->end() ||
                std::search(bytes[i]->begin(), bytes[i]->end(), short_tag.begin(), short_tag.end()) != bytes[i]->end())
                continue;
            c.state = Candidate::Tagged;
            std::vector<uint8_t> padding = tagged_padding(tag, c.length - bytes[i]->size());
            c.end = ".ascii \"";
            for (uint8_t b : padding) {
                char esc[5] = {'\\', char('0' + (b >> 6)), char('0' + ((b >> 3) & 7)), char('0' + (b & 7)), 0};
                c.end += esc;
            }
            c.end += '"';
            result_.tagged.encodings.push_back(
                TaggedEncoding{*bytes[i], std::move(padding), static_cast<uint8_t>(c.kind), c.flags});
        }
        pending_.clear();
    }

    void note_site(const Statement& s, std::string_view what) {
        ++result_.site_count;
        if (options_.pad) return;  // places are for the notes of sites left without room
        result_.places.push_back(*s.source_file + ":" + std::to_string(s.source_line) + ": " + std::string(what));
    }

    enum class Shadowed { Other, Wait, LabelledWait };

    // What follows the statement being visited: a hlt or mwait (written out or
    // as a .byte list), with or without a label in front of it, or anything else.
    Shadowed shadowed_next() {
        bool labelled = false;
        for (size_t at = current_, k = next_;; ++k) {
            if (k >= window_[at].line.statements.size()) {
                ++at, k = static_cast<size_t>(-1);
                if (at >= window_.size() && !fetch()) return Shadowed::Other;
                continue;
            }
            Instruction ins = parse_instruction(window_[at].line.statements[k].text);
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
    }

    bool legacy_target() const { return options_.initial_mode != abi::kSiteMode64; }

    void insert_after(const Statement& s, std::string text) {
        insert(Insertion{s.line, s.end, ";" + std::move(text)});
    }

    void insert(Insertion at) {
        window_[at.line - window_.front().line.index].insertions.push_back(std::move(at));
    }

    bool fetch() {
        // Lines written out leave their vectors for the next ones.
        if (spare_.empty()) spare_.emplace_back();
        WindowLine& w = spare_.back();
        if (!splitter_.next(w.line)) return false;
        w.insertions.clear();
        w.visited = false;
        window_.push_back(std::move(w));
        spare_.pop_back();
        return true;
    }

    void retire_front() {
        spare_.push_back(std::move(window_.front()));
        window_.pop_front();
    }

    void write_line(WindowLine& w) {
        std::vector<Insertion>& ins = w.insertions;
        if (!std::is_sorted(ins.begin(), ins.end(), [](const Insertion& a, const Insertion& b) { return a.column < b.column; }))
            std::stable_sort(ins.begin(), ins.end(), [](const Insertion& a, const Insertion& b) { return a.column < b.column; });
        std::string_view line = w.line.text;
        size_t col = 0;
        for (const Insertion& at : ins) {
            out_.append(line.substr(col, at.column - col));
            out_.append(at.text);
            col = at.column;
        }
        out_.append(line.substr(col));
        if (w.line.terminated) out_.push_back('\n');
        if (options_.sink && out_.size() >= (1u << 16)) {
            options_.sink(out_);
            out_.clear();
        }
    }

    const RewriteOptions& options_;
    std::string_view source_;
    RewriteResult result_;
    StatementSplitter splitter_{source_, options_.file_name};
    std::deque<WindowLine> window_;  // lines read and not yet written out
    std::vector<WindowLine> spare_;
    size_t current_ = 0;             // the line being visited, in window_
    size_t next_ = 0;                // the statement after the one being visited, in that line
    std::string out_;
    std::optional<Insertion> pending_prefix_;
    std::set<std::string, std::less<>> macros_;
    std::set<std::string, std::less<>> functions_;
    std::string function_;
    uint32_t ordinal_ = 0;
    bool countable_ = false;
    uint8_t mode_ = abi::kSiteMode64;
    bool mode_markers_ = false;
    bool in_code_ = true;  // the assembler starts in .text
    struct SectionState {
        bool code = true;
        std::string key;  // section_key()
    };
    SectionState section_{true, ".text"}, previous_{true, ".text"};
    std::vector<std::pair<SectionState, SectionState>> section_stack_;  // (current, previous)
    Syntax syntax_ = Syntax::Att;
    int body_depth_ = 0;  // inside .macro, .rept, .irp, .irpc
    int cond_depth_ = 0;  // inside .if*
    std::set<std::string, std::less<>> anchored_;  // sections with an ordinary site
    struct Candidate {
        std::string text;
        SiteKind kind;
        uint8_t flags;
        uint8_t length;
        enum { Unknown, Tagged, Untagged } state = Unknown;
        size_t waiting = 0;  // uses while it waits to be encoded
        std::string end;  // Tagged: the padding, as text
    };
    size_t candidate_uses_ = 0;
    bool engaged_ = false;
    std::vector<size_t> pending_;
    std::vector<Candidate> candidates_;
    std::unordered_map<std::string, size_t> candidate_ids_;  // text, then kind, flags and length
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

std::vector<uint8_t> tagged_padding(const std::array<uint8_t, 7>& tag, size_t length) {
    // The multi-byte NOPs of the Intel SDM (vol. 2B, NOP), by length.
    static constexpr uint8_t kNops[9][9] = {
        {0x90},
        {0x66, 0x90},
        {0x0f, 0x1f, 0x00},
        {0x0f, 0x1f, 0x40, 0x00},
        {0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
        {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    };
    if (length == 6) {
        std::array<uint8_t, 6> short_tag = short_tag_of(tag);
        return std::vector<uint8_t>(short_tag.begin(), short_tag.end());
    }
    std::vector<uint8_t> out(tag.begin(), tag.end());
    while (out.size() < length) {
        size_t n = std::min<size_t>(9, length - out.size());
        out.insert(out.end(), kNops[n - 1], kNops[n - 1] + n);
    }
    out.resize(std::min(out.size(), std::max(length, tag.size())));
    return out;
}

std::string code_mode_text(uint8_t mode) { return replace_all(kModeTemplate, "@FLAGS@", std::to_string(mode)); }

RewriteResult rewrite(std::string_view source, const RewriteOptions& options) {
    return Rewriter(source, options).run();
}

}  // namespace previrt::afterburner
