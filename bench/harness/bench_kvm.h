// `previrt bench --on kvm`: the guest kernel's exitbench (guest/kernel/
// exit_bench.cpp) under previrt-vmm, pure (with KVM's in-kernel PIC and PIT,
// and with previrt's), pre-virtualized and para-virtualized. Per row: exits
// per operation, which previrt-vmm counts between the row's POST codes and
// any KVM host reproduces; guest instructions per operation, from one
// single-stepped boot per configuration; TSC cycles per operation, which are
// this host's and named with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/harness/bench_report.h"

namespace previrt::bench::kvm {

// The rows made of accesses to the PC's devices: where an in-place VMM should
// remove exits, not just make them cheaper.
inline constexpr const char* kDeviceRows[] = {"port_read", "port_write", "pit_read", "console_line"};
inline constexpr double kFewerExitsGoal = 10;

// What previrt-vmm counted between a row's POST codes.
struct Window {
    uint64_t exits = 0;
    std::optional<uint64_t> instructions, instructions_in_vmm;  // with --count-instructions
};

struct Row {
    std::string name;
    uint64_t cycles_per_op = 0, iterations = 0;
    std::optional<Window> window;
};

// One boot: the guest's rows in order (row k is window k), whether it
// finished, and previrt-vmm's line naming the kind of KVM.
struct Boot {
    std::vector<Row> rows;
    bool done = false;
    std::string kvm_host;
};
// From the guest's serial output and previrt-vmm's messages (--stats).
Boot parse_boot(const std::string& serial, const std::string& messages);

struct Config {
    std::string key;    // "pure", "pure_own", "pre", "para": the JSON's keys
    std::string title;  // the tables' column
    std::string image;
    std::vector<std::string> run_flags;
    bool stepped = true;          // whether it gets a single-stepped boot
    std::vector<Boot> timed;      // plain boots: exits and cycles
    std::optional<Boot> counted;  // the single-stepped boot: instructions
};

struct Report {
    Host host;
    std::string kvm_host;  // "KVM on hardware virtualization (VT-x/AMD-V)" or "KVM without VT-x/AMD-V on this host"
    std::string date, cmdline, counted_cmdline;
    unsigned runs = 0;
    std::string image, image_sha256, pv_image, pv_image_sha256;  // pv_image_sha256 empty: no such image
    std::vector<Config> configs;
    std::vector<std::string> rows;  // in the guest's order

    const Config* find(const std::string& key) const;
};

// Per row and configuration, over the timed boots (exits, cycles) or from the
// counted boot (instructions; min = max = median).
std::optional<Stats> exits_per_op(const Config& c, const std::string& row);
std::optional<Stats> cycles_per_op(const Config& c, const std::string& row);
std::optional<double> instructions_per_op(const Config& c, const std::string& row, bool in_vmm_only = false);

std::string markdown_section(const Report& r);
std::string json(const Report& r);

struct Options {
    std::string self;  // the previrt binary the boots run
    std::string image, pv_image, cmdline_extra, json, markdown;
    std::string section = "kvm";  // --markdown's markers: bench:SECTION:begin/end
    unsigned runs = 3, timeout = 600;
};
// The whole command: boots, report, outputs. `previrt bench`'s exit statuses.
int run(const Options& o);

}  // namespace previrt::bench::kvm
