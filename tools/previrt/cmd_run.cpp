#include <cstdlib>
#include <iostream>

#include "platforms/qemu.h"
#include "tools/previrt/commands.h"

namespace previrt::cli {

namespace {

constexpr char kUsage[] =
    "usage: previrt run --on PLATFORM IMAGE [--cmdline TEXT] [--mem MIB] [--serial stdio|FILE] [--timeout SECONDS]\n"
    "Boots the guest ELF IMAGE on PLATFORM and exits with the status the guest wrote to the\n"
    "exit port (124: timeout, 125: the guest stopped without a status, 126: the platform failed).\n"
    "Platforms: qemu (the bare PC, emulated by QEMU).\n";

}  // namespace

int cmd_run(const Args& args) {
    platforms::RunOptions o;
    std::string platform;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> const std::string* { return i + 1 < args.size() ? &args[++i] : nullptr; };
        const std::string* v = nullptr;
        if (a == "--help" || a == "-h") {
            std::cout << kUsage;
            return kExitOk;
        } else if (a == "--on" && (v = value())) {
            platform = *v;
        } else if (a == "--cmdline" && (v = value())) {
            o.command_line = *v;
        } else if (a == "--serial" && (v = value())) {
            o.serial = *v;
        } else if ((a == "--mem" || a == "--timeout") && (v = value())) {
            char* end = nullptr;
            unsigned long n = std::strtoul(v->c_str(), &end, 10);
            if (!*v->c_str() || *end || n == 0 || n > 1024 * 1024) {
                std::cerr << "previrt run: " << a << " wants a positive number, not '" << *v << "'\n";
                return kExitUsage;
            }
            if (a == "--mem") o.memory_mib = n;
            else o.timeout_seconds = static_cast<unsigned>(n);
        } else if (!a.empty() && a[0] != '-' && o.image.empty()) {
            o.image = a;
        } else {
            std::cerr << "previrt run: unexpected '" << a << "'\n" << kUsage;
            return kExitUsage;
        }
    }
    if (o.image.empty() || platform.empty()) {
        std::cerr << kUsage;
        return kExitUsage;
    }
    if (o.memory_mib > 1024) {
        std::cerr << "previrt run: the guest's kernel window holds at most 1024 MiB of RAM\n";
        return kExitUsage;
    }
    if (platform == "qemu") return platforms::run_on_qemu(o);
    std::cerr << "previrt run: unknown platform '" << platform << "' (qemu)\n";
    return kExitUsage;
}

}  // namespace previrt::cli
