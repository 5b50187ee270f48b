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

// Exit statuses shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // the check ran and found problems
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitInput = 3;     // unreadable or malformed input

}  // namespace previrt::cli
