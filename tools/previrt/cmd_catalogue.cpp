#include <fmt/format.h>

#include <iostream>

#include "sites/catalogue.h"
#include "tools/previrt/commands.h"
#include "tools/previrt/options.h"

namespace previrt::cli {

int cmd_catalogue(const Args& args) {
    bool markdown = false;
    OptionParser options("catalogue",
                         "usage: previrt catalogue [--markdown]\n"
                         "Prints the table of sensitive instructions the afterburner pads and records, with\n"
                         "each kind's site size and the reason it is sensitive. --markdown prints the table\n"
                         "that docs/sensitive-instructions.md holds.\n");
    options.flag("--markdown", [&] { markdown = true; });
    if (int status = options.parse(args); status >= 0) return status;
    if (markdown) {
        std::cout << "| kind | value | AT&T spellings | class | site bytes | why |\n"
                     "| --- | --- | --- | --- | --- | --- |\n";
    }
    for (const sites::CatalogueEntry& e : sites::catalogue()) {
        const char* cls = e.privilege == sites::Privilege::Privileged ? "privileged" : "unprivileged";
        std::string spellings = e.att.empty() ? "(marked or profiled)" : std::string(e.att);
        if (markdown)
            std::cout << fmt::format("| {} | {} | {} | {} | {} | {} |\n", e.name, static_cast<unsigned>(e.kind),
                                     spellings, cls, e.site_length, e.why);
        else
            std::cout << fmt::format("{:<18} {:>3}  {:<13} {:>2}  {}\n", e.name, static_cast<unsigned>(e.kind), cls,
                                     e.site_length, spellings);
    }
    return kExitOk;
}

}  // namespace previrt::cli
