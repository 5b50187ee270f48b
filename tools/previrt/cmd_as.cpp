#include "afterburner/as_hook.h"
#include "tools/previrt/commands.h"

#include <iostream>

namespace previrt::cli {

int cmd_as(const Args& args) {
    if (args.size() == 1 && args[0] == "--previrt-help") {
        std::cout << "usage: previrt as [GNU as arguments] [--previrt-annotations=FILE]\n"
                     "Rewrites the assembly so that every sensitive instruction is followed by NOP scratch\n"
                     "space and recorded in the .note.previrt.sites section, runs the real GNU as (PREVIRT_AS, or\n"
                     "the first 'as' on PATH that is not previrt) with the other arguments, and finishes the\n"
                     "object. Annotations (also PREVIRT_ANNOTATIONS) add sites from a trap profile.\n"
                     "Use it through 'gcc -B DIR' with DIR/as a link to previrt, or AS='previrt as'.\n"
                     "(--help itself goes to GNU as, as a build expects.)\n";
        return kExitOk;
    }
    return afterburner::run_as_hook(args);
}

}  // namespace previrt::cli
