#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "monitors/kvm/monitor.h"
#include "platforms/qemu.h"
#include "vmm/process/backend.h"
#include "tools/previrt/commands.h"

namespace previrt::cli {

namespace {

// RunOptions::timeout_seconds is 32 bits wide: some 136 years.
constexpr unsigned long kMaxTimeoutSeconds = 0xffff'ffff;

constexpr char kUsage[] =
    "usage: previrt run --on PLATFORM IMAGE [--cmdline TEXT] [--mem MIB] [--serial stdio|FILE] [--timeout SECONDS]\n"
    "                  [--trace-exits FILE] [--stats] [--console-input] [--pure] [--previrt] [--no-kvm-irqchip]\n"
    "                  [--count-instructions[=all|windows]]\n"
    "Boots the guest ELF IMAGE on PLATFORM and exits with the status the guest wrote to the exit\n"
    "port; otherwise 120: the image cannot be loaded, 121: no usable /dev/kvm, 124: --timeout\n"
    "passed, 125: the guest stopped without a status (a triple fault), 126: the platform failed.\n"
    "Platforms:\n"
    "  qemu   the bare PC, emulated by QEMU (Multiboot entry)\n"
    "  kvm    previrt-vmm on /dev/kvm, pure virtualization (64-bit entry; --pure says so); --previrt loads the\n"
    "         in-place VMM beside the guest and rewrites its sites (pre-virtualization): the\n"
    "         PIC, PIT and UART are answered inside the guest, console output leaves in batches\n"
    "  process  a Linux process as the hypervisor: the in-place VMM rewrites the image's\n"
    "         sites at load time (pre-virtualization; --previrt says so); --pure leaves them, so every\n"
    "         privileged instruction traps and is emulated (64-bit entry)\n"
    "kvm and process: --trace-exits FILE writes a line per exit (kvm) or trap (process): the\n"
    "guest rip, the kind and the port or address, the input of 'previrt annotate'; --stats\n"
    "prints exits (kvm) or entries into the in-place VMM (process) by kind; --console-input\n"
    "feeds stdin to the guest's console even when --serial is a file.\n"
    "kvm only: --no-kvm-irqchip uses previrt's PIC and PIT even where KVM has its own;\n"
    "--count-instructions single-steps the guest and counts its instructions (slow), =windows only\n"
    "between the POST codes (port 0x80) the guest writes, counted per window with --stats.\n";

}  // namespace

int cmd_run(const Args& args) {
    platforms::RunOptions o;
    std::string platform;
    bool pure = false;
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
        } else if (a == "--trace-exits" && (v = value())) {
            o.trace_exits = *v;
        } else if (a == "--no-kvm-irqchip") {
            o.kvm_irqchip = false;
        } else if (a == "--pure") {
            pure = true;
        } else if (a == "--count-instructions" || a == "--count-instructions=all") {
            o.count_instructions = platforms::RunOptions::Count::All;
        } else if (a == "--count-instructions=windows") {
            o.count_instructions = platforms::RunOptions::Count::Windows;
        } else if (a == "--previrt") {
            o.kvm_in_place = true;
        } else if (a == "--stats") {
            o.stats = true;
        } else if (a == "--console-input") {
            o.console_input = true;
        } else if ((a == "--mem" || a == "--timeout") && (v = value())) {
            // --mem's own limit, the kernel window's, is checked below.
            unsigned long max = a == "--mem" ? 1024 * 1024 : kMaxTimeoutSeconds, n = 0;
            if (!whole_number(*v, max, n)) {
                std::cerr << (a == "--mem" ? fmt::format("previrt run: --mem wants a whole number of MiB, not '{}'\n", *v)
                                           : fmt::format("previrt run: --timeout wants a whole number of seconds from 1 "
                                                         "to {}, not '{}'\n", max, *v));
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
    // --pure and --previrt mean the same on both hypervisors; each has its
    // own default (kvm pure, process pre-virtualized).
    if ((pure || o.kvm_in_place) && platform == "qemu") {
        std::cerr << "previrt run: --pure and --previrt say how a hypervisor runs the guest; qemu is the bare PC\n";
        return kExitUsage;
    }
    if (pure && o.kvm_in_place) {
        std::cerr << "previrt run: --pure or --previrt, not both\n";
        return kExitUsage;
    }
    if (platform == "process" && o.kvm_in_place) o.kvm_in_place = false;  // its default
    if (o.count_instructions != platforms::RunOptions::Count::Off && platform != "kvm") {
        std::cerr << "previrt run: --count-instructions is for the kvm platform\n";
        return kExitUsage;
    }
    if (platform == "qemu") return platforms::run_on_qemu(o);
    if (platform == "kvm") {
        try {
            return kvm::run(o);
        } catch (const std::exception& e) {
            std::cerr << "previrt-vmm: " << e.what() << "\n";
            return platforms::kExitPlatform;
        }
    }
    if (platform == "process") {
        try {
            return vmm::process::run(o, pure ? vmm::process::Mode::Pure : vmm::process::Mode::Previrtualized);
        } catch (const std::exception& e) {
            std::cerr << "previrt-process: " << e.what() << "\n";
            return platforms::kExitPlatform;
        }
    }
    std::cerr << "previrt run: unknown platform '" << platform << "' (qemu, kvm, process)\n";
    return kExitUsage;
}

}  // namespace previrt::cli
