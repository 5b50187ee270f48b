#include "bench/harness/bench_kvm.h"

#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace previrt::bench::kvm {

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const Row* find_row(const Boot& b, const std::string& name) {
    for (const Row& r : b.rows)
        if (r.name == name) return &r;
    return nullptr;
}

// Exits per operation: whole ones as such, fractions with the digits that matter.
std::string exits_text(double v) {
    if (v == static_cast<double>(static_cast<uint64_t>(v))) return fmt::format("{:.0f}", v);
    if (v < 1) return fmt::format("{:.3f}", v);
    if (v < 10) return fmt::format("{:.3f}", v);
    if (v < 100) return fmt::format("{:.1f}", v);
    return fmt::format("{:.0f}", v);
}

std::string stats_text(const std::optional<Stats>& s, std::string (*text)(double)) {
    if (!s) return "n/a";
    if (s->min == s->max) return text(s->median);
    return fmt::format("{} ({}-{})", text(s->median), text(s->min), text(s->max));
}

std::string whole(double v) { return fmt::format("{:.0f}", v); }

// The median exits per operation of a row in a configuration, if both are there.
bool median_exits(const Config* c, const std::string& row, double& out) {
    if (!c) return false;
    std::optional<Stats> s = exits_per_op(*c, row);
    if (!s) return false;
    out = s->median;
    return true;
}

Goal para_goal(const Report& r) {
    std::string goal = "Pre-virtualized makes at most as many exits as para-virtualized on every row";
    const Config* pre = r.find("pre");
    const Config* para = r.find("para");
    if (!pre || !para) return {std::nullopt, goal + ": not measured, no para-virtualized image."};
    std::vector<std::string> over, missing;
    for (const std::string& row : r.rows) {
        double a = 0, b = 0;
        if (!median_exits(pre, row, a) || !median_exits(para, row, b)) {
            missing.push_back(row);
            continue;
        }
        if (a > b) over.push_back(fmt::format("{} {} against {}", row, exits_text(a), exits_text(b)));
    }
    return row_goal(goal, !over.empty(), missing, over.empty() ? "" : fmt::format(", more on {}", fmt::join(over, "; ")));
}

Goal pure_goal(const Report& r) {
    std::vector<std::string> rows(std::begin(kDeviceRows), std::end(kDeviceRows));
    std::string goal = fmt::format(
        "Pre-virtualized makes at least {:g}x fewer exits than pure (previrt's PIC/PIT, where every device exit is "
        "counted) on the device rows ({})",
        kFewerExitsGoal, fmt::join(rows, ", "));
    const Config* pure = r.find("pure_own");
    const Config* pre = r.find("pre");
    std::vector<std::string> measured, failing, missing;
    for (const std::string& row : rows) {
        double a = 0, b = 0;
        if (!median_exits(pure, row, a) || !median_exits(pre, row, b)) {
            missing.push_back(row);
            continue;
        }
        if (b == 0) {
            measured.push_back(fmt::format("{} {} to 0", row, exits_text(a)));
            if (a == 0) failing.push_back(row);
            continue;
        }
        double x = a / b;
        measured.push_back(fmt::format("{} {:.0f}x ({} to {})", row, x, exits_text(a), exits_text(b)));
        if (x < kFewerExitsGoal) failing.push_back(row);
    }
    return row_goal(goal, !failing.empty(), missing,
                    measured.empty() ? "" : fmt::format(", {}", fmt::join(measured, ", ")));
}

// One boot as a child `previrt run`, its serial output and messages to files.
std::optional<Boot> boot(const Options& o, const Config& c, const std::string& cmdline,
                         const std::vector<std::string>& flags, const std::string& dir, const std::string& what) {
    static unsigned counter = 0;
    ++counter;
    std::string serial = fmt::format("{}/serial.{}", dir, counter), output = fmt::format("{}/output.{}", dir, counter);
    std::vector<std::string> argv = {o.self,      "run",  "--on",   "kvm",       c.image,
                                     "--cmdline", cmdline, "--serial", serial, "--timeout", std::to_string(o.timeout)};
    argv.insert(argv.end(), c.run_flags.begin(), c.run_flags.end());
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto started = std::chrono::steady_clock::now();
    int status = run_program(argv, output);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (status == -1) {
        std::cerr << "previrt bench: cannot start " << o.self << ": " << std::strerror(errno) << "\n";
        return std::nullopt;
    }
    Boot b = parse_boot(read_file(serial), read_file(output));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !b.done) {
        std::cerr << fmt::format("previrt bench: {} ({}) {}{}\n  command: {}\n  previrt run said:\n{}"
                                 "  the guest's serial output ends:\n{}",
                                 what, c.title,
                                 WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                                   : fmt::format("was killed by signal {}", WTERMSIG(status)),
                                 b.done ? "" : ", and no 'exitbench done' line", fmt::join(argv, " "),
                                 tail(output, 10), tail(serial, 10));
        return std::nullopt;
    }
    std::cerr << fmt::format("previrt bench: {} ({}): {:.1f} s\n", what, c.title, seconds);
    std::error_code ec;
    std::filesystem::remove(serial, ec);
    std::filesystem::remove(output, ec);
    return b;
}

}  // namespace

Boot parse_boot(const std::string& serial, const std::string& messages) {
    Boot b;
    std::istringstream in(serial);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == "exitbench done") {
            b.done = true;
            continue;
        }
        std::istringstream words(line);
        std::string first, rest;
        Row r;
        if (words >> first && first == "exitbench" && words >> r.name >> r.cycles_per_op >> r.iterations &&
            !(words >> rest) && r.iterations > 0)
            b.rows.push_back(r);
    }
    std::istringstream m(messages);
    constexpr std::string_view kPrefix = "previrt-vmm: ";
    for (std::string line; std::getline(m, line);) {
        if (line.rfind("previrt-vmm: KVM ", 0) == 0 && b.kvm_host.empty()) {
            size_t colon = line.find(": ", kPrefix.size());
            b.kvm_host = line.substr(kPrefix.size(), colon == std::string::npos ? std::string::npos : colon - kPrefix.size());
            continue;
        }
        unsigned k = 0;
        unsigned long long exits = 0, instructions = 0, in_vmm = 0;
        int n = std::sscanf(line.c_str(), "previrt-vmm: window %u: %llu exits, %llu guest instructions (%llu in",
                            &k, &exits, &instructions, &in_vmm);
        if (n < 2 || k == 0 || k > b.rows.size()) continue;
        Window w;
        w.exits = exits;
        if (n == 4) w.instructions = instructions, w.instructions_in_vmm = in_vmm;
        b.rows[k - 1].window = w;
    }
    return b;
}

const Config* Report::find(const std::string& key) const {
    for (const Config& c : configs)
        if (c.key == key) return &c;
    return nullptr;
}

std::optional<Stats> exits_per_op(const Config& c, const std::string& row) {
    std::vector<double> v;
    for (const Boot& b : c.timed)
        if (const Row* r = find_row(b, row); r && r->window)
            v.push_back(static_cast<double>(r->window->exits) / static_cast<double>(r->iterations));
    return stats_of(std::move(v));
}

std::optional<Stats> cycles_per_op(const Config& c, const std::string& row) {
    std::vector<double> v;
    for (const Boot& b : c.timed)
        if (const Row* r = find_row(b, row)) v.push_back(static_cast<double>(r->cycles_per_op));
    return stats_of(std::move(v));
}

std::optional<double> instructions_per_op(const Config& c, const std::string& row, bool in_vmm_only) {
    if (!c.counted) return std::nullopt;
    const Row* r = find_row(*c.counted, row);
    if (!r || !r->window || !r->window->instructions) return std::nullopt;
    uint64_t n = in_vmm_only ? *r->window->instructions_in_vmm : *r->window->instructions;
    return static_cast<double>(n) / static_cast<double>(r->iterations);
}

std::string markdown_section(const Report& r) {
    std::string out = fmt::format(
        "Host: {}, {} cores, {}; {}. Measured {}. Image `{}` SHA-256 `{}`; ", r.host.cpu, r.host.cores, r.host.kernel,
        r.kvm_host.empty() ? "KVM of unknown kind" : r.kvm_host, r.date, basename(r.image), r.image_sha256);
    out += r.find("para") ? fmt::format("para-virtualized image `{}` SHA-256 `{}`. ", basename(r.pv_image), r.pv_image_sha256)
                          : fmt::format("no para-virtualized image (`{}` not found). ", basename(r.pv_image));
    out += fmt::format(
        "Guest command line `{}`, {} boot{} per configuration, interleaved, on `previrt run --on kvm`; instructions "
        "from one more boot per configuration with `{}`, single-stepped through the rows "
        "(`--count-instructions=windows`).\n\n",
        r.cmdline, r.runs, r.runs == 1 ? "" : "s", r.counted_cmdline);

    auto table = [&](const std::string& first_column, auto cell) {
        std::string t = "| " + first_column + " |", rule = "| --- |";
        for (const Config& c : r.configs) t += fmt::format(" {} |", c.title), rule += " ---: |";
        t += "\n" + rule + "\n";
        for (const std::string& row : r.rows) {
            t += fmt::format("| {} |", row);
            for (const Config& c : r.configs) t += " " + cell(c, row) + " |";
            t += "\n";
        }
        return t;
    };
    out += "Exits per operation: what previrt-vmm counted between the row's POST codes, median (min-max) over the "
           "boots. With KVM's in-kernel PIC and PIT, their accesses exit into the host kernel, which previrt-vmm "
           "does not see; the column with previrt's own counts every device exit.\n\n";
    out += table("row: exits per operation", [](const Config& c, const std::string& row) {
        return stats_text(exits_per_op(c, row), exits_text);
    });
    out += "\nGuest instructions per operation (of which in the in-place VMM), from the single-stepped boot. Pure "
           "with KVM's PIC and PIT runs the same guest code as with previrt's and is not stepped: with KVM's "
           "in-kernel irqchip a stepped `sti; hlt` can lose its wakeup.\n\n";
    out += table("row: instructions per operation", [](const Config& c, const std::string& row) {
        auto all = instructions_per_op(c, row), vmm = instructions_per_op(c, row, true);
        if (!all) return std::string("n/a");
        return *vmm >= 0.5 ? fmt::format("{:.0f} ({:.0f})", *all, *vmm) : fmt::format("{:.0f}", *all);
    });
    out += fmt::format("\nTSC cycles per operation on this host ({}), median (min-max){}.\n\n",
                       r.kvm_host.empty() ? "KVM of unknown kind" : r.kvm_host,
                       r.kvm_host.find("without") != std::string::npos
                           ? ": every guest instruction is emulated here, so these times say little about a host "
                             "with VT-x/AMD-V, where the guest runs natively and an exit costs about a microsecond"
                       : r.kvm_host.find("QEMU TCG") != std::string::npos
                           ? ": cycles of the CPU QEMU emulates, whose clock says little about silicon; the exits "
                             "and instructions above are what carries over to a host with AMD-V"
                           : "");
    out += table("row: TSC cycles per operation", [](const Config& c, const std::string& row) {
        return stats_text(cycles_per_op(c, row), whole);
    });
    out += "\n- Goal: " + para_goal(r).sentence + "\n";
    out += "- Goal: " + pure_goal(r).sentence + "\n";
    return out;
}

std::string json(const Report& r) {
    auto stats_json = [](const std::optional<Stats>& s) {
        return s ? fmt::format("{{\"median\": {}, \"min\": {}, \"max\": {}}}", json_number(s->median),
                               json_number(s->min), json_number(s->max))
                 : std::string("null");
    };
    std::string out = "{\n  \"format\": \"previrt-bench-kvm-v1\",\n";
    out += fmt::format("  \"date\": {},\n", json_string(r.date));
    out += fmt::format("  \"host\": {{\"cpu\": {}, \"cores\": {}, \"kernel\": {}, \"kvm\": {}}},\n",
                       json_string(r.host.cpu), r.host.cores, json_string(r.host.kernel), json_string(r.kvm_host));
    out += fmt::format("  \"cmdline\": {},\n  \"counted_cmdline\": {},\n  \"runs\": {},\n", json_string(r.cmdline),
                       json_string(r.counted_cmdline), r.runs);
    out += fmt::format("  \"image\": {{\"file\": {}, \"sha256\": {}}},\n", json_string(basename(r.image)),
                       json_string(r.image_sha256));
    out += fmt::format("  \"pv_image\": {{\"file\": {}, \"sha256\": {}, \"present\": {}}},\n",
                       json_string(basename(r.pv_image)), json_string(r.pv_image_sha256), r.find("para") != nullptr);
    std::vector<std::string> configs;
    for (const Config& c : r.configs) {
        std::vector<std::string> rows;
        for (const std::string& row : r.rows)
            rows.push_back(fmt::format(
                "        {}: {{\"exits_per_op\": {}, \"instructions_per_op\": {}, \"instructions_in_vmm_per_op\": {}, "
                "\"cycles_per_op\": {}}}",
                json_string(row), stats_json(exits_per_op(c, row)), json_number(instructions_per_op(c, row)),
                json_number(instructions_per_op(c, row, true)), stats_json(cycles_per_op(c, row))));
        configs.push_back(fmt::format("    {}: {{\n      \"title\": {},\n      \"flags\": {},\n      \"rows\": {{\n{}\n      }}\n    }}",
                                      json_string(c.key), json_string(c.title), json_string(fmt::format("{}", fmt::join(c.run_flags, " "))),
                                      fmt::join(rows, ",\n")));
    }
    out += fmt::format("  \"configurations\": {{\n{}\n  }},\n", fmt::join(configs, ",\n"));
    out += fmt::format("  \"goals\": {{\n    \"pre_no_more_exits_than_para\": {},\n    \"pre_10x_fewer_exits_than_pure_on_device_rows\": {}\n  }}\n}}\n",
                       goal_json(para_goal(r)), goal_json(pure_goal(r)));
    return out;
}

int run(const Options& o) {
    Report r;
    r.host = probe_host();
    r.date = utc_date();
    r.runs = o.runs;
    r.cmdline = "exitbench" + (o.cmdline_extra.empty() ? "" : " " + o.cmdline_extra);
    // Instructions per operation do not depend on how many there are, and
    // every one is an exit while stepping (on AMD-V emulated by TCG some 80 us):
    // a quarter of the short run.
    r.counted_cmdline = "exitbench iterations=50";
    r.image = o.image;
    r.pv_image = o.pv_image;
    try {
        r.image_sha256 = sha256_file(o.image);
        if (std::filesystem::exists(o.pv_image)) r.pv_image_sha256 = sha256_file(o.pv_image);
    } catch (const std::exception& e) {
        std::cerr << "previrt bench: " << e.what() << "\n";
        return kExitInput;
    }
    // Pure with KVM's in-kernel PIC and PIT runs the same guest code as with
    // previrt's, and is not single-stepped: there a stepped `sti; hlt` can
    // lose its wakeup (the interrupt comes before the hlt), leaving each
    // operation to wait for the timer's next tick.
    r.configs.push_back({"pure", "pure (KVM's PIC/PIT)", o.image, {}, false, {}, {}});
    r.configs.push_back({"pure_own", "pure (previrt's PIC/PIT)", o.image, {"--no-kvm-irqchip"}, true, {}, {}});
    r.configs.push_back({"pre", "pre-virtualized", o.image, {"--previrt"}, true, {}, {}});
    if (!r.pv_image_sha256.empty()) r.configs.push_back({"para", "para-virtualized", o.pv_image, {}, true, {}, {}});
    else std::cerr << "previrt bench: no para-virtualized image at " << o.pv_image << ": pure and pre-virtualized only\n";

    TempDir dir;
    if (!dir.make()) {
        std::cerr << "previrt bench: cannot make a temporary directory\n";
        return kExitInput;
    }

    // Interleaved, so that host noise spreads over every configuration.
    unsigned total = o.runs * static_cast<unsigned>(r.configs.size()), index = 0;
    for (unsigned run = 0; run < o.runs; ++run)
        for (Config& c : r.configs) {
            auto b = boot(o, c, r.cmdline, {"--stats"}, dir.path, fmt::format("boot {}/{}", ++index, total));
            if (!b) return kExitFindings;
            c.timed.push_back(std::move(*b));
        }
    for (Config& c : r.configs) {
        if (!c.stepped) continue;
        auto b = boot(o, c, r.counted_cmdline, {"--stats", "--count-instructions=windows"}, dir.path, "single-stepped boot");
        if (!b) return kExitFindings;
        c.counted = std::move(*b);
    }
    for (const Config& c : r.configs) {
        std::string now;
        try {
            now = sha256_file(c.image);
        } catch (const std::exception&) {
        }
        if (now != (c.key == "para" ? r.pv_image_sha256 : r.image_sha256)) {
            std::cerr << "previrt bench: " << c.image << " changed during the run (rebuilt?): the figures mix images\n";
            return kExitFindings;
        }
    }

    std::set<std::string> known;
    for (const Config& c : r.configs)
        for (const Boot& b : c.timed) {
            if (r.kvm_host.empty()) r.kvm_host = b.kvm_host;
            for (const Row& row : b.rows)
                if (known.insert(row.name).second) r.rows.push_back(row.name);
        }

    std::string section = markdown_section(r);
    std::cout << section << std::flush;
    int status = kExitOk;
    if (!o.json.empty()) {
        std::ofstream out(o.json, std::ios::trunc);
        out << json(r);
        if (!out.flush()) {
            std::cerr << "previrt bench: cannot write " << o.json << "\n";
            status = kExitInput;
        }
    }
    if (!o.markdown.empty() && !update_markdown_file(o.markdown, section, std::cerr, begin_marker(o.section), end_marker(o.section)))
        status = kExitInput;
    return status;
}

}  // namespace previrt::bench::kvm
