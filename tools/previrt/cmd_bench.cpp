// `previrt bench`: the reference guest's micro-benchmarks (init=bench) on the
// Linux-process hypervisor, pure, pre-virtualized and para-virtualized side by
// side in one run, or with --on kvm its kernel's exitbench under previrt-vmm
// (bench_kvm.cpp). Each boot is a child `previrt run`; the figures and what is
// made of them are in bench_report.cpp.
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "bench/harness/bench_kvm.h"
#include "bench/harness/bench_report.h"
#include "tools/previrt/commands.h"
#include "tools/previrt/options.h"

static_assert(previrt::bench::kExitOk == previrt::cli::kExitOk && previrt::bench::kExitFindings == previrt::cli::kExitFindings &&
              previrt::bench::kExitInput == previrt::cli::kExitInput);

// The guest image this build makes ($<TARGET_FILE:guest_kernel>), empty when
// the build has no guest (not GCC).
#ifndef PREVIRT_GUEST_IMAGE
#define PREVIRT_GUEST_IMAGE ""
#endif

namespace previrt::cli {

namespace {

constexpr char kUsage[] =
    "usage: previrt bench [--on process|kvm] [--runs N] [--image IMAGE] [--pv-image PV_IMAGE]\n"
    "                     [--cmdline-extra TEXT] [--timeout SECONDS] [--json FILE] [--plot FILE.png]\n"
    "                     [--markdown FILE [--section NAME]]\n"
    "Boots the guest's micro-benchmarks (--cmdline init=bench) on the Linux-process hypervisor\n"
    "('previrt run --on process') in three configurations, N boots each, interleaved (pure, pre,\n"
    "para, pure, ...) so that host noise spreads over all three:\n"
    "  pure              IMAGE --pure: no site rewritten, every privileged instruction traps\n"
    "  pre-virtualized   IMAGE: its sites rewritten at load time\n"
    "  para-virtualized  PV_IMAGE, the guest built to call the in-place VMM directly; left out,\n"
    "                    in one line, when the file does not exist\n"
    "and prints a Markdown table: per operation the median TSC cycles per operation (min-max),\n"
    "pure/pre (the speed-up of pre-virtualization) and pre/para (its overhead over\n"
    "para-virtualization), after a line naming the host, the date and the images' SHA-256.\n"
    "Options:\n"
    "  --runs N            boots per configuration (default 5)\n"
    "  --image IMAGE       the guest (default: this build's, {})\n"
    "  --pv-image PV_IMAGE the para-virtualized guest (default: previrt-guest-pv.elf next to IMAGE)\n"
    "  --cmdline-extra TEXT  appended to the guest command line, e.g. 'short' (a quick, rough run)\n"
    "  --timeout SECONDS   a boot's limit (default 600)\n"
    "  --json FILE         the host, every sample, the medians and ratios, machine-readable\n"
    "  --plot FILE.png     a bar chart on a log scale, drawn by gnuplot (skipped if it is missing)\n"
    "  --markdown FILE     replaces the section between <!-- bench:process:begin --> and\n"
    "                      <!-- bench:process:end --> in FILE (added at its end if absent) with the\n"
    "                      table and whether each goal is met, as measured\n"
    "  --section NAME      the markers --markdown looks for: <!-- bench:NAME:begin --> and\n"
    "                      <!-- bench:NAME:end --> (default: the platform, process or kvm), so that\n"
    "                      one file holds the runs of several hosts (letters, digits, '-')\n"
    "--on kvm: the guest kernel's exitbench (--cmdline exitbench) under previrt-vmm, N boots each of\n"
    "pure (KVM's in-kernel PIC/PIT), pure (previrt's PIC/PIT), pre-virtualized (--previrt) and\n"
    "para-virtualized (PV_IMAGE, default previrt-guest-pv-kvm.elf next to IMAGE), interleaved, and\n"
    "one boot each single-stepped through the rows (exitbench iterations=50, --count-instructions=windows).\n"
    "Per row: exits per operation (counted between the row's POST codes), guest instructions per\n"
    "operation, TSC cycles per operation on this host, after a line naming the host and its kind of\n"
    "KVM; --markdown replaces the section between <!-- bench:kvm:begin --> and <!-- bench:kvm:end -->;\n"
    "no --plot. Default runs: 3.\n"
    "Exit status: 0; 1: a boot failed or printed no 'bench done' (the tail of its output is shown),\n"
    "or an image changed during the run; 2: bad command line; 3: an image or output file could\n"
    "not be read or written.\n";

struct Options {
    std::string on = "process";
    bool runs_given = false;
    unsigned runs = 5;
    unsigned timeout = 600;
    std::string image = PREVIRT_GUEST_IMAGE, pv_image, cmdline_extra, json, plot, markdown, section;
};

// `previrt run`'s own statuses (tenders/run_options.h), for the error line.
std::string describe(int status) {
    if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    int code = WEXITSTATUS(status);
    const char* why = code == 120 ? ": the image cannot be loaded"
                      : code == 124 ? ": --timeout passed"
                      : code == 125 ? ": the guest stopped without a status (triple fault)"
                      : code == 126 ? ": the platform failed"
                                    : "";
    return fmt::format("exited with status {}{}", code, why);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// What one boot printed, from its serial output (CR LF lines, guest/user/bench.cpp).
struct BootOutput {
    std::map<std::string, bench::Sample> samples;
    std::vector<std::string> comments;  // "# <name> failed: ..." lines: an operation that did not run
    uint64_t tsc_hz = 0;
    bool done = false;
};

BootOutput parse_serial(const std::string& path) {
    BootOutput out;
    std::istringstream in(read_file(path));
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::istringstream words(line);
        std::string first, name, rest;
        words >> first;
        if (line == "bench done") {
            out.done = true;
        } else if (first == "bench") {
            bench::Sample s;
            if (words >> name >> s.cycles_per_op >> s.iterations && !(words >> rest)) out.samples[name] = s;
            else out.comments.push_back("unreadable line '" + line + "'");
        } else if (first == "#" && words >> name && name == "tsc_hz") {
            words >> out.tsc_hz;
        } else if (first == "#" && line.find(" failed: ") != std::string::npos) {
            out.comments.push_back(line.substr(2));
        }
    }
    return out;
}

// One boot as a child process: the process platform installs signal handlers
// and maps the guest at fixed addresses, which one previrt process does once.
bool boot(const std::string& self, const std::string& cmdline, const Options& o, const std::string& dir,
          unsigned index, unsigned total, bench::Config& c, bench::Report& report) {
    std::string serial = fmt::format("{}/serial.{}", dir, index), output = fmt::format("{}/output.{}", dir, index);
    std::vector<std::string> argv = {self,      "run",  "--on",   "process",         c.image,
                                     "--cmdline", cmdline, "--serial", serial, "--timeout", std::to_string(o.timeout)};
    argv.insert(argv.end(), c.run_flags.begin(), c.run_flags.end());
    auto started = std::chrono::steady_clock::now();
    int status = bench::run_program(argv, output);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (status == -1) {
        std::cerr << "previrt bench: cannot start " << self << ": " << std::strerror(errno) << "\n";
        return false;
    }
    BootOutput got = parse_serial(serial);
    bool exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!exited_ok || !got.done) {
        std::cerr << fmt::format("previrt bench: boot {}/{} ({}) {}{}\n  command: {}\n  previrt run said:\n{}"
                                 "  the guest's serial output ends:\n{}",
                                 index, total, c.title, describe(status), got.done ? "" : ", and no 'bench done' line",
                                 fmt::join(argv, " "), bench::tail(output, 10), bench::tail(serial, 15));
        return false;
    }
    for (const std::string& comment : got.comments) std::cerr << "previrt bench: " << c.title << ": " << comment << "\n";
    for (const auto& [name, sample] : got.samples) c.samples[name].push_back(sample);
    if (got.tsc_hz && !report.tsc_hz) report.tsc_hz = got.tsc_hz;
    if (c.platform_output.empty()) {
        // The first boot's messages say how many sites were rewritten: shown once.
        c.platform_output = read_file(output);
        while (!c.platform_output.empty() && std::isspace(static_cast<unsigned char>(c.platform_output.back())))
            c.platform_output.pop_back();
        std::istringstream lines(c.platform_output);
        for (std::string line; std::getline(lines, line);) std::cerr << "previrt bench: " << c.title << ": " << line << "\n";
    }
    std::cerr << fmt::format("previrt bench: boot {}/{} ({}): {:.1f} s\n", index, total, c.title, seconds);
    std::error_code ec;
    std::filesystem::remove(serial, ec);
    std::filesystem::remove(output, ec);
    return true;
}

int parse(const Args& args, Options& o) {
    OptionParser options("bench", fmt::format(kUsage, o.image.empty() ? "none in this build" : o.image));
    options.number("--runs", 100000, "", [&](unsigned long n) {
               o.runs = static_cast<unsigned>(n);
               o.runs_given = true;
           })
        .number("--timeout", 100000, "of seconds ", [&](unsigned long n) { o.timeout = static_cast<unsigned>(n); })
        .value("--on",
               [&](const std::string& v) {
                   if (v != "process" && v != "kvm") return fmt::format("--on process or --on kvm, not '{}'", v);
                   o.on = v;
                   return std::string();
               })
        .value("--image", o.image)
        .value("--pv-image", o.pv_image)
        .value("--cmdline-extra", o.cmdline_extra)
        .value("--json", o.json)
        .value("--plot", o.plot)
        .value("--markdown", o.markdown)
        .value("--section", [&](const std::string& v) {
            bool ok = !v.empty();
            for (char c : v) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-');
            if (!ok) return fmt::format("--section wants letters, digits and '-', not '{}'", v);
            o.section = v;
            return std::string();
        });
    return options.parse(args);
}

}  // namespace

int cmd_bench(const Args& args) {
    Options o;
    if (int status = parse(args, o); status >= 0) return status;
    if (o.image.empty()) {
        std::cerr << "previrt bench: this build has no guest image: give --image\n";
        return kExitUsage;
    }
    // An image named on the command line must be there: a para-virtualized
    // one missing by default only leaves its column out.
    for (const std::string* given : {&o.image, &o.pv_image})
        if (!given->empty() && !std::filesystem::is_regular_file(*given)) {
            std::cerr << "previrt bench: " << (given == &o.image ? "--image " : "--pv-image ") << *given
                      << ": no such file\n";
            return kExitInput;
        }
    if (o.pv_image.empty())
        o.pv_image = (std::filesystem::path(o.image).parent_path() /
                      (o.on == "kvm" ? "previrt-guest-pv-kvm.elf" : "previrt-guest-pv.elf"))
                         .string();
    if (o.section.empty()) o.section = o.on;
    if (o.on == "kvm") {
        if (!o.plot.empty()) {
            std::cerr << "previrt bench: --plot is for --on process\n";
            return kExitUsage;
        }
        std::error_code ec;
        bench::kvm::Options k;
        k.self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
        if (k.self.empty()) {
            std::cerr << "previrt bench: cannot find /proc/self/exe\n";
            return kExitInput;
        }
        k.image = o.image;
        k.pv_image = o.pv_image;
        k.cmdline_extra = o.cmdline_extra;
        k.json = o.json;
        k.markdown = o.markdown;
        k.section = o.section;
        k.runs = o.runs_given ? o.runs : 3;
        k.timeout = o.timeout;
        return bench::kvm::run(k);
    }

    bench::Report report;
    report.host = bench::probe_host();
    report.date = bench::utc_date();
    report.runs = o.runs;
    report.cmdline = "init=bench" + (o.cmdline_extra.empty() ? "" : " " + o.cmdline_extra);
    report.image = o.image;
    report.pv_image = o.pv_image;
    try {
        report.image_sha256 = bench::sha256_file(o.image);
        if (std::filesystem::exists(o.pv_image)) report.pv_image_sha256 = bench::sha256_file(o.pv_image);
    } catch (const std::exception& e) {
        std::cerr << "previrt bench: " << e.what() << "\n";
        return kExitInput;
    }
    report.configs.push_back({"pure", "pure", o.image, {"--pure"}});
    report.configs.push_back({"pre", "pre-virtualized", o.image, {}});
    if (!report.pv_image_sha256.empty()) report.configs.push_back({"para", "para-virtualized", o.pv_image, {}});
    else std::cerr << "previrt bench: no para-virtualized image at " << o.pv_image << ": pure and pre-virtualized only\n";

    std::error_code ec;
    std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    bench::TempDir dir;
    if (self.empty() || !dir.make()) {
        std::cerr << "previrt bench: cannot find /proc/self/exe or make a temporary directory\n";
        return kExitInput;
    }

    // Interleaved: a burst of host noise then hits every configuration a
    // little rather than one configuration a lot.
    unsigned total = o.runs * static_cast<unsigned>(report.configs.size()), index = 0;
    for (unsigned run = 0; run < o.runs; ++run)
        for (bench::Config& c : report.configs)
            if (!boot(self, report.cmdline, o, dir.path, ++index, total, c, report)) return kExitFindings;

    // The figures are only comparable if every boot ran the same bytes.
    for (const bench::Config& c : report.configs) {
        std::string expected = c.key == "para" ? report.pv_image_sha256 : report.image_sha256;
        std::string now;
        try {
            now = bench::sha256_file(c.image);
        } catch (const std::exception&) {
        }
        if (now != expected) {
            std::cerr << "previrt bench: " << c.image << " changed during the run (rebuilt?): the figures mix images\n";
            return kExitFindings;
        }
    }

    for (const char* op : bench::kOperations) report.operations.push_back(op);
    std::set<std::string> known(report.operations.begin(), report.operations.end());
    for (const bench::Config& c : report.configs)
        for (const auto& entry : c.samples)
            if (known.insert(entry.first).second) report.operations.push_back(entry.first);

    std::string section = bench::markdown_section(report);
    std::cout << section << std::flush;
    int status = kExitOk;
    if (!o.json.empty()) {
        std::ofstream out(o.json, std::ios::trunc);
        out << bench::json(report);
        if (!out.flush()) {
            std::cerr << "previrt bench: cannot write " << o.json << "\n";
            status = kExitInput;
        }
    }
    if (!o.plot.empty() && !bench::plot(report, o.plot, std::cerr)) status = kExitInput;
    if (!o.markdown.empty() && !bench::update_markdown_file(o.markdown, section, std::cerr, bench::begin_marker(o.section),
                                                            bench::end_marker(o.section)))
        status = kExitInput;
    return status;
}

}  // namespace previrt::cli
