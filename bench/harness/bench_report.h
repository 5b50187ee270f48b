// `previrt bench`: the measurements of the guest's `bench` program in several
// configurations, and everything made from them (the Markdown table, the JSON,
// the gnuplot chart, the section of a Markdown file), kept apart from the
// command that boots the guests (cmd_bench.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace previrt::bench {

// What a run of the harness returns, as `previrt bench` exits: the figures
// made, a boot that failed or an image that changed under it, unreadable input.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitInput = 3;

// The rows the guest's bench v1 prints, in its order (guest/user/bench.cpp).
inline constexpr const char* kOperations[] = {"null_syscall", "cli_sti",        "irqsave_lock",  "page_fault",
                                              "context_switch", "spawn_exit", "timer_delivery"};
// Rows made of sensitive operations only: where pre-virtualization should
// beat trap-and-emulate by orders of magnitude.
inline constexpr const char* kSensitiveOperations[] = {"cli_sti", "irqsave_lock"};
inline constexpr double kParaOverheadGoalPercent = 5;
inline constexpr double kSpeedUpOverPureGoal = 100;

// The markers of a report's section in a Markdown file: <!-- bench:NAME:begin -->.
inline std::string begin_marker(std::string_view name) { return "<!-- bench:" + std::string(name) + ":begin -->"; }
inline std::string end_marker(std::string_view name) { return "<!-- bench:" + std::string(name) + ":end -->"; }

struct Sample {
    uint64_t cycles_per_op = 0;
    uint64_t iterations = 0;
};

struct Config {
    std::string key;    // "pure", "pre", "para": the JSON's keys
    std::string title;  // the table's column
    std::string image;
    std::vector<std::string> run_flags;                   // after the image, e.g. --pure
    std::map<std::string, std::vector<Sample>> samples;   // by operation, one per boot
    std::string platform_output;                          // what the first boot's `previrt run` said
};

struct Host {
    std::string cpu;     // /proc/cpuinfo's first "model name"
    unsigned cores = 0;  // online CPUs
    std::string kernel;  // uname: sysname and release
    bool hypervisor = false;  // CPUID.1:ECX[31], set by hypervisors for their guests
};

struct Report {
    Host host;
    std::string date;  // UTC, ISO 8601
    std::string cmdline;
    unsigned runs = 0;
    std::string image, image_sha256;
    std::string pv_image, pv_image_sha256;  // the hash is empty when the PV image is missing
    uint64_t tsc_hz = 0;                    // what the guest reported, 0 if it did not
    std::vector<Config> configs;            // pure, pre and, if its image exists, para
    std::vector<std::string> operations;    // kOperations, then any other the guest printed

    const Config* find(const std::string& key) const;
};

struct Stats {
    double median = 0, min = 0, max = 0;
};
std::optional<Stats> stats(const Config& config, const std::string& operation);

Host probe_host();
std::string utc_date();
// Lowercase hex SHA-256 of a file's contents; throws std::runtime_error.
std::string sha256_file(const std::string& path);

// The header line, the table and a measured sentence per goal, in Markdown.
std::string markdown_section(const Report& report);
std::string json(const Report& report);
// Replaces what lies between the markers in FILE with the section (the file
// and the markers are added when absent). False, with a message, on error.
bool update_markdown_file(const std::string& path, const std::string& section, std::ostream& err,
                          std::string_view begin_marker, std::string_view end_marker);
// Draws the chart with gnuplot. A missing gnuplot is said and the chart
// skipped (it is optional, the figures are not); false when gnuplot fails.
bool plot(const Report& report, const std::string& png, std::ostream& err);

// A benchmark's goal as measured: met, not met, or not measured (nullopt),
// and the sentence that says so, with the figures.
struct Goal {
    std::optional<bool> met;
    std::string sentence;
};
// {"met": true|false|null, "sentence": "..."}
std::string goal_json(const Goal& g);
// A goal checked row by row: not met if a row failed it, met if every row
// had a figure, otherwise not measured. The sentence: the goal, the verdict,
// `details` (", ..." or empty), the rows without a figure.
Goal row_goal(const std::string& goal, bool failed, const std::vector<std::string>& missing, const std::string& details);

// A temporary directory for a run's files, removed with them at the end.
struct TempDir {
    std::string path;  // empty until make() succeeds
    TempDir() = default;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    bool make();  // previrt-bench-XXXXXX in the system's temporary directory
};

// JSON text: a quoted, escaped string; a number, or null for none (JSON has no NaN).
std::string json_string(const std::string& s);
std::string json_number(std::optional<double> v);
// A path's last component, as the reports name images.
std::string basename(const std::string& path);
// The median of some figures (none: nullopt).
std::optional<Stats> stats_of(std::vector<double> values);

// Runs ARGV with stdin from /dev/null and stdout and stderr into OUTPUT; the
// wait status, or -1 (errno set) when it cannot be started.
int run_program(const std::vector<std::string>& argv, const std::string& output);
// The last LINES lines of a file, each indented; for error reports.
std::string tail(const std::string& path, size_t lines);

}  // namespace previrt::bench
