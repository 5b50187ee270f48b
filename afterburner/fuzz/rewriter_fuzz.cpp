// libFuzzer target: the assembler hook's text pass on arbitrary input. It must
// never crash, and it must never lose or change a byte of the original lines.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "afterburner/asm_source.h"
#include "afterburner/rewriter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    previrt::afterburner::RewriteResult r = previrt::afterburner::rewrite(text, {});
    auto in = previrt::afterburner::split_lines(text);
    auto out = previrt::afterburner::split_lines(r.text);
    if (in.size() != out.size()) std::abort();
    for (size_t i = 0; i < in.size(); ++i)
        if (out[i].size() < in[i].size()) std::abort();
    return 0;
}
