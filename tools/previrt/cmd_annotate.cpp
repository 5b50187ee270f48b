#include <fstream>
#include <iostream>
#include <sstream>

#include "afterburner/profile.h"
#include "afterburner/text_file.h"
#include "tools/previrt/commands.h"
#include "tools/previrt/options.h"

namespace previrt::cli {

int cmd_annotate(const Args& args) {
    std::string out_path;
    std::vector<std::string> paths;
    OptionParser options("annotate",
                         "usage: previrt annotate IMAGE TRAPS [-o FILE]\n"
                         "Reads a trap profile (lines '<rip> <kind>', as a monitor's --trace-exits writes it)\n"
                         "for the linked guest IMAGE, and writes the annotation file that makes the next build\n"
                         "pad and record exactly the trapping device-register ('mmio') and page-table ('pt')\n"
                         "accesses. Pass it to the assembler hook as --previrt-annotations=FILE (gcc -Wa,...)\n"
                         "or in PREVIRT_ANNOTATIONS. Exits 1 if a trap could not be annotated.\n");
    options.value("-o", out_path).positionals(paths, 2, 2);
    if (int status = options.parse(args); status >= 0) return status;
    const std::string& image_path = paths[0];
    const std::string& traps_path = paths[1];

    afterburner::ProfileResult result;
    try {
        elf::File image = elf::File::load(image_path);
        std::string text;
        try {
            text = afterburner::read_text_file(traps_path, afterburner::kMaxTrapProfileBytes);
        } catch (const afterburner::InputError& e) {
            throw std::runtime_error(std::string(e.what()) + " (the trap profile)");
        }
        result = afterburner::annotate_from_profile(image, afterburner::parse_trap_profile(text, traps_path));
    } catch (const std::exception& e) {
        std::cerr << "previrt annotate: " << e.what() << "\n";
        return kExitInput;
    }
    for (const std::string& n : result.notes) std::cerr << "note: " << n << "\n";
    for (const std::string& e : result.errors) std::cerr << "error: " << e << "\n";

    std::string text = result.annotations.serialize();
    if (out_path.empty()) {
        std::cout << text;
    } else {
        std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) {
            std::cerr << "previrt annotate: " << out_path << ": cannot write\n";
            return kExitInput;
        }
    }
    std::cerr << result.annotations.size() << " site(s) annotated\n";
    return result.errors.empty() ? kExitOk : kExitFindings;
}

}  // namespace previrt::cli
