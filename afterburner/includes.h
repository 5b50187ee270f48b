// `.include` followed before the text pass. GNU as reads an included file as
// if its text stood in place of the directive, so the hook puts it there,
// between line markers that keep every message and debug line naming the
// included file and then the including one again: its sensitive instructions
// are padded and recorded like the rest. Files are searched as GNU as searches
// them: the name as given (from the working directory), then each -I directory.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace previrt::afterburner {

class IncludeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// `text`, read from `file_name`, with every `.include "NAME"` replaced by
// NAME's text (its own includes followed too). Throws IncludeError naming the
// file and line of a directive whose file cannot be read, or of includes
// nested too deep (a file that includes itself).
std::string expand_includes(std::string_view text, const std::string& file_name,
                            const std::vector<std::string>& include_dirs);

}  // namespace previrt::afterburner
