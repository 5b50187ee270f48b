// libFuzzer target: everything previrt does with an ELF file it did not make:
// load the site table, check it (inspect), and finish it as an object.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <vector>

#include "afterburner/inspect.h"
#include "afterburner/object_finisher.h"
#include "elf/elf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> bytes(data, data + size);
    try {
        previrt::elf::File file = previrt::elf::File::parse(bytes);
        previrt::afterburner::InspectReport report = previrt::afterburner::inspect(file);
        (void)previrt::afterburner::list_sites(file, report.table);
    } catch (const std::exception&) {
    }
    try {
        (void)previrt::afterburner::finish_object(bytes);
    } catch (const std::exception&) {
    }
    return 0;
}
