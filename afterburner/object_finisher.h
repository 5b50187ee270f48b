// The assembler hook's second pass, on the object GNU as just wrote: decodes the
// instruction at every new site, checks it is what the text pass took it for,
// fills in its operands, and makes each site section one note: the records behind
// a note header and a chunk header.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "afterburner/tagged_sites.h"

namespace previrt::afterburner {

class FinishError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The object does not hold the tagged sites as the text said (a count that
// differs, bytes that match no encoding or more than one, a section without
// an ordinary record to anchor them): the hook assembles without tags.
class TaggedSitesMismatch : public FinishError {
public:
    using FinishError::FinishError;
};

struct FinishResult {
    std::vector<uint8_t> bytes;  // the finished object (finish_object only)
    size_t sites = 0;            // instruction sites finished
    size_t chunks = 0;           // notes made
};

// Objects without site sections, and those already finished, come back as they were.
FinishResult finish_object(std::vector<uint8_t> object, const TaggedSites* tagged = nullptr);

// finish_object() on a file, written back in place as it is laid out (the
// result holds no bytes). Errors name the path.
FinishResult finish_object_file(const std::string& path, const TaggedSites* tagged = nullptr);

}  // namespace previrt::afterburner
