// The subcommands of `previrt`. Each takes its arguments (without the
// subcommand's name) and returns the exit status.
#pragma once

#include <string>
#include <vector>

namespace previrt::cli {

using Args = std::vector<std::string>;

int cmd_as(const Args& args);
int cmd_inspect(const Args& args);
int cmd_annotate(const Args& args);
int cmd_catalogue(const Args& args);
int cmd_run(const Args& args);
int cmd_bench(const Args& args);

// A flag's whole number from 1 to `max`: false (and `out` untouched) for
// anything else: empty, a sign, other characters, 0, or more than `max`.
bool whole_number(const std::string& text, unsigned long max, unsigned long& out);

// Exit statuses shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // the check ran and found problems
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitInput = 3;     // unreadable or malformed input

}  // namespace previrt::cli
