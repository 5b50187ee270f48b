#include "tools/previrt/options.h"

#include <fmt/format.h>

#include <iostream>
#include <utility>

namespace previrt::cli {

bool whole_number(const std::string& text, unsigned long max, unsigned long& out) {
    if (text.empty() || text.size() > 20) return false;
    unsigned long n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        unsigned digit = static_cast<unsigned>(c - '0');
        if (n > (max - digit) / 10) return false;  // n * 10 + digit > max
        n = n * 10 + digit;
    }
    if (n == 0) return false;
    out = n;
    return true;
}

OptionParser::OptionParser(std::string command, std::string usage)
    : command_(std::move(command)), usage_(std::move(usage)) {}

OptionParser& OptionParser::flag(const std::string& name, std::function<void()> on) {
    options_.push_back({name, false, std::move(on), {}});
    return *this;
}

OptionParser& OptionParser::value(const std::string& name, std::function<std::string(const std::string&)> take) {
    options_.push_back({name, true, {}, std::move(take)});
    return *this;
}

OptionParser& OptionParser::value(const std::string& name, std::string& field) {
    return value(name, [&field](const std::string& text) {
        field = text;
        return std::string();
    });
}

OptionParser& OptionParser::number(const std::string& name, unsigned long max, const std::string& unit,
                                   std::function<void(unsigned long)> take) {
    return value(name, [name, max, unit, take = std::move(take)](const std::string& text) -> std::string {
        unsigned long n = 0;
        if (!whole_number(text, max, n))
            return fmt::format("{} wants a whole number {}from 1 to {}, not '{}'", name, unit, max, text);
        take(n);
        return "";
    });
}

OptionParser& OptionParser::positionals(std::vector<std::string>& out, size_t min, size_t max) {
    positionals_ = &out;
    min_positionals_ = min;
    max_positionals_ = max;
    return *this;
}

int OptionParser::refuse(const std::string& message, bool with_usage) const {
    std::cerr << "previrt " << command_ << ": " << message << "\n";
    if (with_usage) std::cerr << usage_;
    return kExitUsage;
}

int OptionParser::parse(const Args& args) const {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage_;
            return kExitOk;
        }
        const Option* option = nullptr;
        for (const Option& o : options_)
            if (o.name == a) option = &o;
        if (option && !option->takes_value) {
            option->on_flag();
        } else if (option) {
            if (i + 1 >= args.size()) return refuse(a + " wants a value");
            if (std::string error = option->on_value(args[++i]); !error.empty()) return refuse(error);
        } else if (a.size() > 1 && a[0] == '-') {
            return refuse(fmt::format("unknown option '{}'", a), true);
        } else if (!positionals_ || positionals_->size() == max_positionals_) {
            return refuse(fmt::format("unexpected '{}'", a), true);
        } else {
            positionals_->push_back(a);
        }
    }
    if (positionals_ && positionals_->size() < min_positionals_) {
        std::cerr << usage_;
        return kExitUsage;
    }
    return -1;
}

}  // namespace previrt::cli
