#include "afterburner/annotations.h"
#include "afterburner/text_file.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "sites/catalogue.h"

namespace previrt::afterburner {

using namespace sites;  // the catalogue, the decoder and the site records

std::string printable(std::string_view token) {
    constexpr size_t kShown = 64;
    std::string out;
    for (size_t i = 0; i < token.size() && i < kShown; ++i) {
        auto c = static_cast<unsigned char>(token[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    if (token.size() > kShown) out += "...";
    return out;
}

Annotations Annotations::parse(std::string_view text, std::string_view file_name) {
    Annotations out;
    std::istringstream in{std::string(text)};
    std::string line;
    for (size_t number = 1; std::getline(in, line); ++number) {
        if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        std::istringstream fields(line);
        std::string function, ordinal, mnemonic, kind, extra;
        if (!(fields >> function)) continue;
        auto where = [&] { return std::string(file_name) + ":" + std::to_string(number) + ": "; };
        if (!(fields >> ordinal >> mnemonic >> kind) || (fields >> extra))
            throw AnnotationError(where() + "expected '<function> <ordinal> <mnemonic> <kind>'");
        Annotation a{function, 0, mnemonic, abi::SiteKind::Unclassified};
        auto [ptr, ec] = std::from_chars(ordinal.data(), ordinal.data() + ordinal.size(), a.ordinal);
        if (ec != std::errc() || ptr != ordinal.data() + ordinal.size())
            throw AnnotationError(where() + "ordinal '" + printable(ordinal) + "' is not a number");
        const CatalogueEntry* e = find_entry(kind);
        if (!e || static_cast<uint8_t>(e->kind) < static_cast<uint8_t>(abi::SiteKind::MmioRead))
            throw AnnotationError(where() + "kind '" + printable(kind) + "' is not mmio_read, mmio_write or page_table_write");
        a.kind = e->kind;
        out.add(std::move(a));
    }
    return out;
}

Annotations Annotations::load(const std::string& path) {
    try {
        return parse(read_text_file(path, kMaxAnnotationBytes), path);
    } catch (const InputError& e) {
        throw AnnotationError(std::string(e.what()) + " (the annotation file)");
    }
}

void Annotations::add(Annotation a) {
    auto key = std::make_pair(a.function, a.ordinal);
    by_site_.insert_or_assign(std::move(key), std::move(a));
}

const Annotation* Annotations::find(std::string_view function, uint32_t ordinal) const {
    auto it = by_site_.find(std::make_pair(std::string(function), ordinal));
    return it == by_site_.end() ? nullptr : &it->second;
}

std::string Annotations::serialize() const {
    std::string out = "# previrt annotations: <function> <ordinal> <mnemonic> <kind>\n";
    for (const auto& [key, a] : by_site_)
        out += a.function + " " + std::to_string(a.ordinal) + " " + a.mnemonic + " " +
               std::string(kind_name(static_cast<uint8_t>(a.kind))) + "\n";
    return out;
}

bool mnemonic_matches(std::string_view att, std::string_view base) {
    if (att == base) return true;
    // AT&T adds a one-letter size suffix (movl, orb) to the base mnemonic, and
    // spells the extending moves by both sizes (movzbl for movzx).
    if (att.size() == base.size() + 1 && att.starts_with(base) && std::string_view("bwlq").find(att.back()) != std::string_view::npos)
        return true;
    if (base == "mov" && att.starts_with("movabs")) return att.size() <= 7;
    if (base == "movzx") return att.starts_with("movz");
    if (base == "movsx") return att == "movsbw" || att == "movsbl" || att == "movsbq" || att == "movswl" || att == "movswq";
    if (base == "movsxd") return att == "movslq";
    return false;
}

}  // namespace previrt::afterburner
