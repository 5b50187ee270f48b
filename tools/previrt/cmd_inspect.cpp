#include <fmt/format.h>

#include <iostream>
#include <map>

#include "afterburner/inspect.h"
#include "tools/previrt/commands.h"
#include "tools/previrt/options.h"

namespace previrt::cli {

int cmd_inspect(const Args& args) {
    bool list = false;
    std::vector<std::string> paths;
    OptionParser options("inspect",
                         "usage: previrt inspect [--list] FILE\n"
                         "Lists the sites of an ELF image or object by section and kind, checks every site\n"
                         "(the recorded instruction is there, with the recorded operands, followed only by\n"
                         "NOPs), and scans every executable section for sensitive instructions without a\n"
                         "record. Exits 1 if it finds any problem, naming each with address and symbol.\n"
                         "  --list   also print every site\n");
    options.flag("--list", [&] { list = true; }).positionals(paths, 1, 1);
    if (int status = options.parse(args); status >= 0) return status;
    const std::string& path = paths[0];

    afterburner::InspectReport report;
    elf::File file;
    try {
        file = elf::File::load(path);
        report = afterburner::inspect(file);
    } catch (const std::exception& e) {
        std::cerr << "previrt inspect: " << path << ": " << e.what() << "\n";
        return kExitInput;
    }

    size_t total = 0;
    std::map<std::string, size_t> by_kind;
    for (const auto& [key, n] : report.counts) {
        total += n;
        by_kind[key.second] += n;
    }
    std::cout << fmt::format("{}: {} sites in {} chunk(s), {} of them without room (an in-place VMM traps there); "
                             "{} instructions scanned outside them\n",
                             path, total, report.table.chunks, report.without_room, report.instructions_scanned);
    std::cout << fmt::format("  {:<20} {:<24} {:>6}\n", "kind", "section", "sites");
    for (const auto& [key, n] : report.counts)
        std::cout << fmt::format("  {:<20} {:<24} {:>6}\n", key.second, key.first, n);
    if (list) {
        std::cout << "\n  site  location                                 kind             len/site disassembly\n";
        for (const std::string& line : afterburner::list_sites(file, report.table)) std::cout << "  " << line << "\n";
    }
    for (const afterburner::Finding& f : report.findings)
        std::cout << "problem: " << (f.location.empty() ? "" : f.location + ": ") << f.message << "\n";
    std::cout << (report.findings.empty() ? "ok: every sensitive instruction is recorded\n"
                                          : fmt::format("{} problem(s)\n", report.findings.size()));
    return report.findings.empty() ? kExitOk : kExitFindings;
}

}  // namespace previrt::cli
