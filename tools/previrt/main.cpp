// previrt: one command-line tool, with subcommands. Invoked under the name `as`
// (a symlink in a directory given to gcc -B), it is the afterburner's assembler hook.
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "tools/previrt/commands.h"

namespace {

struct Command {
    std::string_view name;
    int (*run)(const previrt::cli::Args&);
    std::string_view summary;
};

constexpr Command kCommands[] = {
    {"as", previrt::cli::cmd_as, "the afterburner's assembler hook: GNU as arguments, sites padded and recorded"},
    {"inspect", previrt::cli::cmd_inspect, "list an ELF file's sites and check it for unrecorded sensitive instructions"},
    {"annotate", previrt::cli::cmd_annotate, "turn a monitor's trap profile into annotations for the next build"},
    {"catalogue", previrt::cli::cmd_catalogue, "print the table of sensitive instructions"},
    {"run", previrt::cli::cmd_run, "boot a guest image on a platform: qemu, kvm or process"},
    {"bench", previrt::cli::cmd_bench, "pure, pre- and para-virtualized side by side, on the process hypervisor or KVM"},
};

void usage(std::ostream& out) {
    out << "usage: previrt <command> [options]\n\ncommands:\n";
    for (const Command& c : kCommands) out << "  " << c.name << std::string(12 - c.name.size(), ' ') << c.summary << "\n";
    out << "\n'previrt <command> --help' describes each. Linked or invoked as 'as', previrt is the assembler hook.\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view self = argv[0];
    if (size_t slash = self.rfind('/'); slash != std::string_view::npos) self.remove_prefix(slash + 1);
    if (self == "as") return previrt::cli::cmd_as(previrt::cli::Args(argv + 1, argv + argc));

    if (argc < 2) {
        usage(std::cerr);
        return previrt::cli::kExitUsage;
    }
    std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        usage(std::cout);
        return previrt::cli::kExitOk;
    }
    for (const Command& c : kCommands)
        if (c.name == name) return c.run(previrt::cli::Args(argv + 2, argv + argc));
    std::cerr << "previrt: unknown command '" << name << "'\n";
    usage(std::cerr);
    return previrt::cli::kExitUsage;
}
