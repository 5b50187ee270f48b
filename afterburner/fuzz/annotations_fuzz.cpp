// libFuzzer target: the two text formats previrt reads from files it did not
// write, a monitor's trap profile and an annotation file. What parses must
// come back the same through the annotation file's own text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "afterburner/annotations.h"
#include "afterburner/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        (void)previrt::afterburner::parse_trap_profile(text, "fuzz.traps");
    } catch (const previrt::afterburner::AnnotationError&) {
    }
    try {
        std::string once = previrt::afterburner::Annotations::parse(text, "fuzz.ann").serialize();
        std::string twice = previrt::afterburner::Annotations::parse(once, "again.ann").serialize();
        if (once != twice) __builtin_trap();
    } catch (const previrt::afterburner::AnnotationError&) {
    }
    return 0;
}
