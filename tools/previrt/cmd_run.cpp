#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "tenders/kvm/monitor.h"
#include "tenders/qemu/qemu.h"
#include "tenders/process/tender.h"
#include "tools/previrt/commands.h"
#include "tools/previrt/options.h"

namespace previrt::cli {

namespace {

// RunOptions::timeout_seconds is 32 bits wide: some 136 years.
constexpr unsigned long kMaxTimeoutSeconds = 0xffff'ffff;

constexpr char kUsage[] =
    "usage: previrt run --on PLATFORM IMAGE [--cmdline TEXT] [--mem MIB] [--serial stdio|FILE] [--timeout SECONDS]\n"
    "                  [--trace-exits FILE] [--stats] [--console-input] [--pure] [--previrt] [--no-kvm-irqchip]\n"
    "                  [--count-instructions[=all|windows]]\n"
    "Boots the guest ELF IMAGE on PLATFORM (with --mem MiB of RAM, 1 to 1024, the guest's kernel window;\n"
    "default 256) and exits with the status the guest wrote to the exit\n"
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
    tenders::RunOptions o;
    std::string platform;
    bool pure = false;
    using Count = tenders::RunOptions::Count;
    std::vector<std::string> image;
    OptionParser options("run", kUsage);
    options.value("--on", platform)
        .value("--cmdline", o.command_line)
        .value("--serial", o.serial)
        .value("--trace-exits", o.trace_exits)
        .number("--mem", 1024, "of MiB ", [&](unsigned long n) { o.memory_mib = n; })
        .number("--timeout", kMaxTimeoutSeconds, "of seconds ", [&](unsigned long n) { o.timeout_seconds = static_cast<unsigned>(n); })
        .flag("--no-kvm-irqchip", [&] { o.kvm_irqchip = false; })
        .flag("--pure", [&] { pure = true; })
        .flag("--previrt", [&] { o.kvm_in_place = true; })
        .flag("--count-instructions", [&] { o.count_instructions = Count::All; })
        .flag("--count-instructions=all", [&] { o.count_instructions = Count::All; })
        .flag("--count-instructions=windows", [&] { o.count_instructions = Count::Windows; })
        .flag("--stats", [&] { o.stats = true; })
        .flag("--console-input", [&] { o.console_input = true; })
        .positionals(image, 1, 1);
    if (int status = options.parse(args); status >= 0) return status;
    o.image = image[0];
    if (platform.empty()) {
        std::cerr << kUsage;
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
    if (o.count_instructions != tenders::RunOptions::Count::Off && platform != "kvm") {
        std::cerr << "previrt run: --count-instructions is for the kvm platform\n";
        return kExitUsage;
    }
    if (platform == "qemu") return tenders::run_on_qemu(o);
    if (platform == "kvm") {
        try {
            return kvm::run(o);
        } catch (const std::exception& e) {
            std::cerr << "previrt-vmm: " << e.what() << "\n";
            return tenders::kExitPlatform;
        }
    }
    if (platform == "process") {
        try {
            return vmm::process::run(o, pure ? vmm::process::Mode::Pure : vmm::process::Mode::Previrtualized);
        } catch (const std::exception& e) {
            std::cerr << "previrt-process: " << e.what() << "\n";
            return tenders::kExitPlatform;
        }
    }
    std::cerr << "previrt run: unknown platform '" << platform << "' (qemu, kvm, process)\n";
    return kExitUsage;
}

}  // namespace previrt::cli
