// The one way every subcommand reads its command line: options declared with
// what each does, then parse(), which answers --help and names whatever it
// cannot take (an unknown option, a missing value, a value its check refuses,
// an argument too many) in one form: "previrt COMMAND: ...", status 2.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tools/previrt/commands.h"

namespace previrt::cli {

// A flag's whole number from 1 to `max`: false (and `out` untouched) for
// anything else: empty, a sign, other characters, 0, or more than `max`.
bool whole_number(const std::string& text, unsigned long max, unsigned long& out);

class OptionParser {
public:
    // `usage` is printed for --help (to standard output, status 0) and after
    // a missing argument (to standard error, status 2).
    OptionParser(std::string command, std::string usage);

    // An option without a value.
    OptionParser& flag(const std::string& name, std::function<void()> on);
    // An option with a value (the next argument). `take` returns an error
    // message, empty when it accepts the value.
    OptionParser& value(const std::string& name, std::function<std::string(const std::string&)> take);
    // An option whose value is taken as it is, into `field`.
    OptionParser& value(const std::string& name, std::string& field);
    // A whole number from 1 to `max`, named "a whole number `unit`from 1 to max".
    OptionParser& number(const std::string& name, unsigned long max, const std::string& unit,
                         std::function<void(unsigned long)> take);
    // The arguments that are not options, in order: at most `max`, at least `min`.
    OptionParser& positionals(std::vector<std::string>& out, size_t min, size_t max);

    // -1 when the command line is taken and the command runs; otherwise the
    // status to exit with (--help: 0; anything it refused: 2, with a line).
    int parse(const Args& args) const;

private:
    struct Option {
        std::string name;
        bool takes_value;
        std::function<void()> on_flag;
        std::function<std::string(const std::string&)> on_value;
    };
    int refuse(const std::string& message, bool with_usage = false) const;

    std::string command_, usage_;
    std::vector<Option> options_;
    std::vector<std::string>* positionals_ = nullptr;
    size_t min_positionals_ = 0, max_positionals_ = 0;
};

}  // namespace previrt::cli
