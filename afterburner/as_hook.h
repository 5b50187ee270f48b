// The assembler hook: what runs when a GCC build calls `as` (gcc -B DIR, with DIR/as
// pointing at previrt, or AS="previrt as"). It rewrites the assembly text, runs
// the real GNU as with the original arguments on the result, and finishes the
// object it wrote.
#pragma once

#include <string>
#include <vector>

namespace previrt::afterburner {

// Returns the process exit status; messages go to stderr.
int run_as_hook(const std::vector<std::string>& args);

// Expands gcc's @FILE response-file arguments.
std::vector<std::string> expand_response_files(const std::vector<std::string>& args);

}  // namespace previrt::afterburner
