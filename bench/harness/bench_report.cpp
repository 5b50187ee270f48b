#include "bench/harness/bench_report.h"

#include <cpuid.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <nettle/sha2.h>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace previrt::bench {

namespace {

// The two comparisons the table and the goals are made of, from the medians.
std::optional<double> ratio(const Report& r, const char* num_key, const char* den_key, const std::string& op) {
    const Config* num = r.find(num_key);
    const Config* den = r.find(den_key);
    if (!num || !den) return std::nullopt;
    auto n = stats(*num, op), d = stats(*den, op);
    if (!n || !d || d->median <= 0) return std::nullopt;
    return n->median / d->median;
}
std::optional<double> speed_up_over_pure(const Report& r, const std::string& op) { return ratio(r, "pure", "pre", op); }
std::optional<double> overhead_over_para_percent(const Report& r, const std::string& op) {
    auto q = ratio(r, "pre", "para", op);
    if (!q) return std::nullopt;
    return (*q - 1) * 100;
}

std::string times(double x) { return x >= 100 ? fmt::format("{:.0f}x", x) : fmt::format("{:.1f}x", x); }

// "Within 5%" counts pre-virtualized being faster as within: the goal bounds
// the price of not rewriting the guest's source, not the difference's sign.
Goal para_goal(const Report& r) {
    std::string goal = fmt::format("Pre-virtualized within {:g}% of para-virtualized on every row", kParaOverheadGoalPercent);
    if (!r.find("para")) return {std::nullopt, fmt::format("{}: not measured, no para-virtualized image.", goal)};
    std::vector<std::string> over, missing;
    std::string worst_op;
    double worst = -1e300;
    for (const std::string& op : r.operations) {
        auto p = overhead_over_para_percent(r, op);
        if (!p) {
            missing.push_back(op);
            continue;
        }
        if (*p > worst) worst = *p, worst_op = op;
        if (*p > kParaOverheadGoalPercent) over.push_back(fmt::format("{} {:+.1f}%", op, *p));
    }
    std::optional<bool> met;
    std::string s;
    if (!over.empty()) {
        met = false;
        s = fmt::format("{}: **not met**, over {:g}% on {}", goal, kParaOverheadGoalPercent, fmt::join(over, ", "));
    } else if (missing.empty()) {
        met = true;
        s = fmt::format("{}: **met**, the largest difference is {:+.1f}% ({})", goal, worst, worst_op);
    } else {
        s = goal + ": not measured";
    }
    if (!missing.empty()) s += fmt::format("{} no figure for {}", over.empty() ? "," : ";", fmt::join(missing, ", "));
    return {met, s + "."};
}

Goal pure_goal(const Report& r) {
    std::vector<std::string> rows, failing, missing;
    for (const char* op : kSensitiveOperations) rows.push_back(op);
    std::string goal = fmt::format("at least {:g}x faster than pure on the rows made of sensitive operations ({})",
                                   kSpeedUpOverPureGoal, fmt::join(rows, ", "));
    std::vector<std::string> measured;
    for (const std::string& op : rows) {
        auto x = speed_up_over_pure(r, op);
        if (!x) {
            missing.push_back(op);
            continue;
        }
        measured.push_back(fmt::format("{} {}", op, times(*x)));
        if (*x < kSpeedUpOverPureGoal) failing.push_back(op);
    }
    return row_goal("Pre-virtualized " + goal, !failing.empty(), missing,
                    measured.empty() ? "" : fmt::format(", {}", fmt::join(measured, ", ")));
}

}  // namespace

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else out += c;
    }
    return out + "\"";
}

// Integers print as such (medians of whole cycle counts mostly are); JSON has
// no NaN, so a ratio that cannot be formed is null.
std::string json_number(std::optional<double> v) {
    if (!v || !std::isfinite(*v)) return "null";
    if (*v == std::floor(*v) && std::fabs(*v) < 1e15) return fmt::format("{}", static_cast<int64_t>(*v));
    return fmt::format("{:.4f}", *v);
}

std::string basename(const std::string& path) { return std::filesystem::path(path).filename().string(); }

const Config* Report::find(const std::string& key) const {
    for (const Config& c : configs)
        if (c.key == key) return &c;
    return nullptr;
}

std::optional<Stats> stats(const Config& config, const std::string& operation) {
    auto it = config.samples.find(operation);
    if (it == config.samples.end()) return std::nullopt;
    std::vector<double> v;
    for (const Sample& s : it->second) v.push_back(static_cast<double>(s.cycles_per_op));
    return stats_of(std::move(v));
}

std::optional<Stats> stats_of(std::vector<double> v) {
    if (v.empty()) return std::nullopt;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return Stats{median, v.front(), v.back()};
}

Host probe_host() {
    Host h;
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) != 0) continue;
        if (size_t colon = line.find(':'); colon != std::string::npos) {
            h.cpu = line.substr(line.find_first_not_of(" \t", colon + 1));
            break;
        }
    }
    if (h.cpu.empty()) h.cpu = "unknown CPU";
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    h.cores = n > 0 ? static_cast<unsigned>(n) : 0;
    struct utsname u {};
    if (uname(&u) == 0) h.kernel = fmt::format("{} {}", u.sysname, u.release);
    unsigned a = 0, b = 0, c = 0, d = 0;
    h.hypervisor = __get_cpuid(1, &a, &b, &c, &d) && (c >> 31) & 1;
    return h;
}

std::string utc_date() {
    std::time_t now = std::time(nullptr);
    std::tm tm {};
    gmtime_r(&now, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

// SHA-256, Nettle's: the images' identity in every report, so that a figure
// can be traced to the exact bytes that produced it.
std::string sha256_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read {}", path));
    sha256_ctx sha;
    sha256_init(&sha);
    std::vector<char> buffer(1 << 16);
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
        sha256_update(&sha, static_cast<size_t>(in.gcount()), reinterpret_cast<const uint8_t*>(buffer.data()));
    if (in.bad()) throw std::runtime_error(fmt::format("cannot read {}", path));
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&sha, sizeof digest, digest);
    std::string hex;
    for (uint8_t byte : digest) hex += fmt::format("{:02x}", byte);
    return hex;
}

std::string markdown_section(const Report& r) {
    std::string out = fmt::format(
        "Host: {}, {} cores, {}, {}. Measured {}. Image `{}` SHA-256 `{}`; ", r.host.cpu, r.host.cores, r.host.kernel,
        r.host.hypervisor ? "in a VM (CPUID hypervisor flag set)" : "not in a VM (no CPUID hypervisor flag)", r.date,
        basename(r.image), r.image_sha256);
    out += r.find("para") ? fmt::format("para-virtualized image `{}` SHA-256 `{}`. ", basename(r.pv_image), r.pv_image_sha256)
                          : fmt::format("no para-virtualized image (`{}` not found). ", basename(r.pv_image));
    out += fmt::format("Guest command line `{}`, {} boot{} per configuration, interleaved, on `previrt run --on process`. "
                       "TSC cycles per operation: median (min-max) over the boots.\n\n",
                       r.cmdline, r.runs, r.runs == 1 ? "" : "s");

    out += "| operation |";
    std::string rule = "| --- |";
    for (const Config& c : r.configs) out += fmt::format(" {} |", c.title), rule += " ---: |";
    out += " pure/pre |", rule += " ---: |";
    if (r.find("para")) out += " pre/para |", rule += " ---: |";
    out += "\n" + rule + "\n";
    for (const std::string& op : r.operations) {
        out += fmt::format("| {} |", op);
        for (const Config& c : r.configs) {
            auto s = stats(c, op);
            if (!s) out += " n/a |";
            else if (c.samples.at(op).size() == 1) out += fmt::format(" {:.0f} |", s->median);
            else out += fmt::format(" {:.0f} ({:.0f}-{:.0f}) |", s->median, s->min, s->max);
        }
        auto x = speed_up_over_pure(r, op);
        out += x ? fmt::format(" {} |", times(*x)) : " n/a |";
        if (r.find("para")) {
            auto p = overhead_over_para_percent(r, op);
            out += p ? fmt::format(" {:+.1f}% |", *p) : " n/a |";
        }
        out += "\n";
    }
    out += "\npure/pre: how many times faster pre-virtualization is than pure virtualization (trap and emulate); "
           "pre/para: what pre-virtualization costs over para-virtualization. Both from the medians.\n\n";
    out += "- Goal: " + para_goal(r).sentence + "\n";
    out += "- Goal: " + pure_goal(r).sentence + "\n";
    return out;
}

std::string goal_json(const Goal& g) {
    return fmt::format("{{\"met\": {}, \"sentence\": {}}}", g.met ? (*g.met ? "true" : "false") : "null",
                       json_string(g.sentence));
}

Goal row_goal(const std::string& goal, bool failed, const std::vector<std::string>& missing, const std::string& details) {
    std::optional<bool> met = failed ? std::optional<bool>(false) : missing.empty() ? std::optional<bool>(true) : std::nullopt;
    std::string s = goal + ": " + (met ? (*met ? "**met**" : "**not met**") : "not measured") + details;
    if (!missing.empty()) s += fmt::format("; no figure for {}", fmt::join(missing, ", "));
    return {met, s + "."};
}

TempDir::~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
}

bool TempDir::make() {
    std::error_code ec;
    std::string pattern = (std::filesystem::temp_directory_path(ec) / "previrt-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) return false;
    path = pattern;
    return true;
}

std::string json(const Report& r) {
    std::string out = "{\n  \"format\": \"previrt-bench-process-v1\",\n";
    out += fmt::format("  \"date\": {},\n", json_string(r.date));
    out += fmt::format("  \"host\": {{\"cpu\": {}, \"cores\": {}, \"kernel\": {}, \"hypervisor\": {}}},\n",
                       json_string(r.host.cpu), r.host.cores, json_string(r.host.kernel), r.host.hypervisor);
    out += fmt::format("  \"cmdline\": {},\n  \"runs\": {},\n  \"tsc_hz\": {},\n", json_string(r.cmdline), r.runs,
                       r.tsc_hz);
    // The file names only: a report is read on other machines than the one it was made on.
    out += fmt::format("  \"image\": {{\"file\": {}, \"sha256\": {}}},\n", json_string(basename(r.image)),
                       json_string(r.image_sha256));
    out += fmt::format("  \"pv_image\": {{\"file\": {}, \"present\": {}, \"sha256\": {}}},\n", json_string(basename(r.pv_image)),
                       r.find("para") != nullptr, r.find("para") ? json_string(r.pv_image_sha256) : "null");
    std::vector<std::string> ops;
    for (const std::string& op : r.operations) ops.push_back(json_string(op));
    out += fmt::format("  \"operations\": [{}],\n  \"configurations\": {{\n", fmt::join(ops, ", "));
    for (size_t i = 0; i < r.configs.size(); ++i) {
        const Config& c = r.configs[i];
        std::vector<std::string> flags;
        for (const std::string& f : c.run_flags) flags.push_back(json_string(f));
        out += fmt::format("    {}: {{\n      \"title\": {},\n      \"image\": {},\n      \"run_flags\": [{}],\n"
                           "      \"platform_output\": {},\n      \"operations\": {{\n",
                           json_string(c.key), json_string(c.title), json_string(basename(c.image)), fmt::join(flags, ", "),
                           json_string(c.platform_output));
        std::vector<std::string> rows;
        for (const std::string& op : r.operations) {
            auto s = stats(c, op);
            if (!s) continue;
            std::vector<uint64_t> cycles, iterations;
            for (const Sample& x : c.samples.at(op)) cycles.push_back(x.cycles_per_op), iterations.push_back(x.iterations);
            rows.push_back(fmt::format("        {}: {{\"samples\": [{}], \"iterations\": [{}], \"median\": {}, \"min\": {}, "
                                       "\"max\": {}}}",
                                       json_string(op), fmt::join(cycles, ", "), fmt::join(iterations, ", "),
                                       json_number(s->median), json_number(s->min), json_number(s->max)));
        }
        out += fmt::format("{}\n      }}\n    }}{}\n", fmt::join(rows, ",\n"), i + 1 < r.configs.size() ? "," : "");
    }
    out += "  },\n  \"ratios\": {\n";
    std::vector<std::string> rows;
    for (const std::string& op : r.operations)
        rows.push_back(fmt::format("    {}: {{\"pure_over_pre\": {}, \"pre_over_para_percent\": {}}}", json_string(op),
                                   json_number(speed_up_over_pure(r, op)), json_number(overhead_over_para_percent(r, op))));
    out += fmt::format("{}\n  }},\n", fmt::join(rows, ",\n"));
    out += fmt::format("  \"goals\": {{\n    \"pre_within_5_percent_of_para\": {},\n    \"pre_100x_faster_than_pure_on_sensitive\": {}\n  }}\n}}\n",
                       goal_json(para_goal(r)), goal_json(pure_goal(r)));
    return out;
}

bool update_markdown_file(const std::string& path, const std::string& section, std::ostream& err,
                          std::string_view begin_marker, std::string_view end_marker) {
    std::string text;
    if (std::ifstream in(path, std::ios::binary); in) {
        std::ostringstream s;
        s << in.rdbuf();
        text = s.str();
    } else if (std::filesystem::exists(path)) {
        err << "previrt bench: cannot read " << path << "\n";
        return false;
    }
    std::string block = std::string(begin_marker) + "\n" + section + std::string(end_marker);
    size_t begin = text.find(begin_marker);
    size_t end = begin == std::string::npos ? std::string::npos : text.find(end_marker, begin);
    if (begin != std::string::npos && end == std::string::npos) {
        // Replacing up to the end of the file could eat what follows: refuse.
        err << "previrt bench: " << path << " has " << begin_marker << " but no " << end_marker << " after it\n";
        return false;
    }
    if (begin != std::string::npos) {
        text.replace(begin, end + end_marker.size() - begin, block);
    } else {
        if (!text.empty() && text.back() != '\n') text += '\n';
        text += (text.empty() ? "" : "\n") + block + "\n";
    }
    // Written beside and renamed, so that an interrupted run leaves the old file.
    std::string temporary = path + ".previrt-bench.tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush()) {
            err << "previrt bench: cannot write " << temporary << "\n";
            return false;
        }
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (ec) {
        err << "previrt bench: cannot replace " << path << ": " << ec.message() << "\n";
        std::filesystem::remove(temporary, ec);
        return false;
    }
    return true;
}

int run_program(const std::vector<std::string>& argv, const std::string& output) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int error = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
        errno = error;
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

std::string tail(const std::string& path, size_t lines) {
    std::ifstream in(path);
    std::deque<std::string> last;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        last.push_back(line);
        if (last.size() > lines) last.pop_front();
    }
    while (!last.empty() && last.back().find_first_not_of(" \t") == std::string::npos) last.pop_back();
    std::string out;
    for (const std::string& line : last) out += "    " + line + "\n";
    return out.empty() ? "    (nothing)\n" : out;
}

bool plot(const Report& r, const std::string& png, std::ostream& err) {
    std::string gnuplot;
    if (const char* path = std::getenv("PATH")) {
        std::istringstream dirs(path);
        for (std::string dir; std::getline(dirs, dir, ':') && gnuplot.empty();)
            if (!dir.empty() && access((dir + "/gnuplot").c_str(), X_OK) == 0) gnuplot = dir + "/gnuplot";
    }
    if (gnuplot.empty()) {
        err << "previrt bench: gnuplot not found (Debian package gnuplot-nox): no plot\n";
        return true;
    }
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::temp_directory_path(ec) / fmt::format("previrt-plot-{}", getpid());
    std::filesystem::create_directories(dir, ec);
    std::string data = (dir / "data").string(), script = (dir / "plot.gp").string(), log = (dir / "log").string();

    // One row per operation, one column per configuration; "?" where the
    // guest gave no figure (gnuplot's missing value).
    double lowest = 1e300;
    {
        std::ofstream d(data);
        for (const std::string& op : r.operations) {
            d << op;
            for (const Config& c : r.configs) {
                auto s = stats(c, op);
                if (s) lowest = std::min(lowest, std::max(s->median, 1.0));
                d << ' ' << (s ? fmt::format("{:.1f}", std::max(s->median, 1.0)) : std::string("?"));
            }
            d << '\n';
        }
    }
    auto quote = [](const std::string& s) {  // a gnuplot single-quoted string: '' is a quote
        std::string out = "'";
        for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
        return out + "'";
    };
    // Log scale: the figures span five orders of magnitude. The bars start at
    // the power of ten below the smallest median, which log scale needs.
    double floor10 = std::pow(10.0, std::floor(std::log10(lowest == 1e300 ? 1 : lowest)));
    std::string title = fmt::format("previrt bench on the Linux-process hypervisor: {}, {} ({} boot{} each, median)",
                                    r.host.cpu, r.host.kernel, r.runs, r.runs == 1 ? "" : "s");
    std::ofstream s(script);
    s << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
         "    set terminal pngcairo size 1100,650 noenhanced font ',10'\n"
         "} else {\n"
         "    set terminal png size 1100,650 noenhanced\n"
         "}\n"
      << "set output " << quote(png) << "\n"
      << "set title " << quote(title) << "\n"
      << "set datafile missing '?'\n"
         "set style data histogram\n"
         "set style histogram cluster gap 1\n"
         "set style fill solid 0.85 border -1\n"
         "set boxwidth 0.9\n"
         "set logscale y\n"
      << fmt::format("set yrange [{}:*]\n", floor10)
      << fmt::format("set xrange [-0.6:{}]\n", static_cast<double>(r.operations.size()) - 0.4)
      << "set format y '%.0f'\n"
         "set ylabel 'TSC cycles per operation (log scale)'\n"
         "set grid ytics mytics\n"
         "set key top left\n"
         "set xtics nomirror rotate by -20\n"
         "plot ";
    for (size_t i = 0; i < r.configs.size(); ++i)
        s << (i ? ", '' " : quote(data) + " ") << "using " << i + 2 << (i ? "" : ":xtic(1)") << " title "
          << quote(r.configs[i].title);
    s << "\n";
    s.close();
    int status = run_program({gnuplot, script}, log);
    bool ok = status == 0;
    if (!ok) err << "previrt bench: gnuplot failed, no plot:\n" << tail(log, 10);
    std::filesystem::remove_all(dir, ec);
    return ok;
}

}  // namespace previrt::bench
