// The afterburner end to end with the real toolchain: gcc and GNU as through the
// hook, ld, objdump, and the built programs themselves.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "afterburner/inspect.h"
#include "sites/insn_decoder.h"
#include "elf/elf_file.h"
#include "testing/toolchain.h"

namespace previrt::afterburner {

using namespace sites;
namespace {

namespace fs = std::filesystem;
using test::check_run;
using test::quote;
using test::run;
using test::write_file;

const fs::path kSource = PREVIRT_SOURCE_DIR;
const fs::path kPrevirt = PREVIRT_BINARY;
const fs::path kHookDir = PREVIRT_HOOK_DIR;

class Toolchain : public ::testing::Test {
protected:

    // gcc through the hook (or not), from C or .S source.
    std::string cc(const std::string& flags, bool hook = true) {
        return std::string("gcc ") + (hook ? "-B" + quote(kHookDir) + " " : "") + "-I" + quote(kSource / "abi") + " " +
               flags;
    }

    InspectReport inspect_file(const fs::path& p) { return inspect(elf::File::load(p)); }

    test::TempDir tmp_;
    fs::path dir_ = tmp_ / "";
};

size_t sites_of(const InspectReport& r, const std::string& kind) {
    size_t n = 0;
    for (const auto& [key, count] : r.counts)
        if (key.second == kind) n += count;
    return n;
}

std::string findings(const InspectReport& r) {
    std::string out;
    for (const Finding& f : r.findings) out += f.location + ": " + f.message + "\n";
    return out;
}

// Every golden input assembles through the hook, and the object is sound.
TEST_F(Toolchain, GoldenInputsAssembleAndPassInspect) {
    const std::map<std::string, std::map<std::string, size_t>> expected = {
        {"macros.s", {{"mov_to_cr", 2}, {"pushf", 1}, {"out", 5}, {"popf", 1}}},
        {"sections.s", {{"cli", 1}, {"hlt", 1}, {"sti", 1}, {"rdtsc", 1}, {"wrmsr", 1}, {"lidt", 1}}},
        {"prefixes.s", {{"outs", 4}, {"ins", 1}, {"lgdt", 1}}},
        {"comments.s", {{"cli", 1}, {"sti", 1}, {"hlt", 1}, {"cpuid", 1}, {"rdtsc", 1}, {"pushf", 1}, {"popf", 1}}},
        {"modes.s", {{"mov_from_cr", 1}, {"lgdt", 1}, {"cli", 1}, {"lidt", 1}, {"swapgs", 1}, {"sysret", 1}}},
        {"labels.s", {{"cli", 1}, {"sti", 1}, {"hlt", 1}, {"iret", 1}, {"far_jmp", 1}, {"far_call", 1},
                      {"far_ret", 1}, {"int_n", 1}}},
        {"passthrough.s", {}},
        {"bytes.s", {{"clac", 1}, {"stac", 1}, {"monitor", 1}, {"mwait", 1}, {"xsaves", 1}, {"cli", 1}, {"rdtsc", 1}}},
        {"intel.s", {{"mov_to_cr", 1}, {"mov_from_cr", 2}, {"mov_to_sreg", 1}, {"push_sreg", 1}, {"in", 1},
                     {"cli", 1}}},
    };
    for (const auto& [name, kinds] : expected) {
        fs::path obj = dir_ / (name + ".o");
        check_run(quote(kPrevirt) + " as -o " + quote(obj) + " " + quote(kSource / "afterburner/tests/golden" / name));
        InspectReport r = inspect_file(obj);
        EXPECT_TRUE(r.findings.empty()) << name << "\n" << findings(r);
        size_t total = 0;
        for (const auto& [kind, n] : kinds) {
            EXPECT_EQ(sites_of(r, kind), n) << name << " " << kind;
            total += n;
        }
        size_t all = 0;
        for (const auto& [key, n] : r.counts) all += n;
        EXPECT_EQ(all, total) << name;
    }
}

// The sample guest (C with inline asm, and preprocessed .S) through gcc -B: the
// linked image passes inspect, and objdump sees at each site the recorded
// instruction followed by NOPs alone.
TEST_F(Toolchain, SampleGuestLinksAndAgreesWithObjdump) {
    fs::path sample = kSource / "samples/afterburner";
    std::string objs;
    for (const char* src : {"entry.S", "main.c", "platform.c"}) {
        fs::path obj = dir_ / (std::string(src) + ".o");
        check_run(cc("-O2 -ffreestanding -fno-pie -mno-red-zone -fno-stack-protector -c -o " + quote(obj) + " " +
                     quote(sample / src)));
        objs += " " + quote(obj);
    }
    fs::path image = dir_ / "sample.elf";
    check_run("gcc -nostdlib -static -no-pie -Wl,-e,_start -o " + quote(image) + objs);
    elf::File file = elf::File::load(image);
    InspectReport r = inspect(file);
    EXPECT_TRUE(r.findings.empty()) << findings(r);
    EXPECT_GE(r.table.sites.size(), 60u);
    EXPECT_EQ(sites_of(r, "mmio_write"), 1u);
    EXPECT_EQ(sites_of(r, "mmio_read"), 1u);
    EXPECT_EQ(sites_of(r, "page_table_write"), 1u);

    // objdump, independently: address -> (mnemonic) for the 64-bit code.
    std::map<uint64_t, std::string> mnemonic;
    std::istringstream dump(check_run("objdump -d --no-show-raw-insn " + quote(image)));
    std::regex line(R"(^\s*([0-9a-f]+):\s+(\S+))");
    for (std::string l; std::getline(dump, l);) {
        std::smatch m;
        if (std::regex_search(l, m, line)) mnemonic[std::stoull(m[1], nullptr, 16)] = m[2];
    }
    size_t checked = 0;
    for (const Site& s : r.table.sites) {
        if (s.is_code_mode() || (s.record.flags & abi::kSiteModeMask) != abi::kSiteMode64) continue;
        ASSERT_TRUE(mnemonic.contains(s.address)) << std::hex << s.address;
        InsnDecoder d;
        auto insn = d.decode(file.sections()[s.section].data.subspan(s.offset, s.record.insn_length));
        ASSERT_TRUE(insn);
        std::string zydis = ZydisMnemonicGetString(insn->insn.mnemonic);
        std::string od = mnemonic[s.address];
        if (od == "rep" || od == "lock" || od == "data16" || od == "cs") od = "";  // prefix printed apart
        if (od.starts_with("lret") || od.starts_with("ljmp") || od.starts_with("lcall")) od = od.substr(1);  // far forms
        EXPECT_TRUE(od.empty() || od.starts_with(zydis.substr(0, 3)) || zydis.starts_with(od.substr(0, 3)))
            << std::hex << s.address << ": objdump " << od << ", zydis " << zydis;
        // Everything objdump sees inside the scratch space is a NOP.
        for (auto it = mnemonic.upper_bound(s.address); it != mnemonic.end() && it->first < s.address + s.record.site_length; ++it)
            EXPECT_TRUE(it->second.starts_with("nop") || it->second == "cs" || it->second == "data16" ||
                        it->second == "xchg")  // 66 90, the two-byte NOP
                << std::hex << it->first << " " << it->second;
        ++checked;
    }
    EXPECT_GE(checked, 50u);
}

// Built without the hook, the same code fails the check, each instruction named.
TEST_F(Toolchain, InspectNamesUnrecordedInstructions) {
    fs::path obj = dir_ / "plain.o";
    check_run(cc("-O2 -ffreestanding -fno-pie -c -o " + quote(obj) + " " + quote(kSource / "samples/afterburner/platform.c"),
                 /*hook=*/false));
    auto result = run(quote(kPrevirt) + " inspect " + quote(obj));
    EXPECT_EQ(result.status >> 8, 1) << result.output;  // findings, not a crash or input error
    EXPECT_NE(result.output.find("unrecorded sensitive instruction 'cli'"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("<irqsave_increment"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("never finished"), std::string::npos) << result.output;  // the markers' records
}

// Padded user-level sites behave as before: the same program built with and
// without the hook prints the same CPUID results and flags, and a rising TSC.
TEST_F(Toolchain, PaddedUserSitesBehaveTheSame) {
    const char* program = R"(
#include <stdio.h>
#include <stdint.h>
static uint64_t flags_after_setting_df(void) {
    uint64_t f;
    __asm__ volatile("std; pushfq; popq %0; cld" : "=r"(f));
    return f;
}
int main(void) {
    unsigned a, b, c, d, sites = 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    printf("cpuid0 %08x %08x %08x %08x\n", a, b, c, d);
    uint64_t f = flags_after_setting_df();
    printf("df %d\n", (int)((f >> 10) & 1));
    uint64_t saved;
    __asm__ volatile("pushfq; popq %0; pushq %0; popfq" : "=r"(saved) : : "cc");
    printf("if %d\n", (int)((saved >> 9) & 1));
    uint32_t lo1, hi1, lo2, hi2;
    __asm__ volatile("rdtsc" : "=a"(lo1), "=d"(hi1));
    for (volatile int i = 0; i < 1000; i++) sites++;
    __asm__ volatile("rdtsc" : "=a"(lo2), "=d"(hi2));
    printf("tsc rises %d\n", (((uint64_t)hi2 << 32) | lo2) > (((uint64_t)hi1 << 32) | lo1));
    return 0;
}
)";
    write_file(dir_ / "user.c", program);
    check_run(cc("-O2 -o " + quote(dir_ / "padded") + " " + quote(dir_ / "user.c")));
    check_run(cc("-O2 -o " + quote(dir_ / "plain") + " " + quote(dir_ / "user.c"), false));
    InspectReport r = inspect_file(dir_ / "padded");
    EXPECT_EQ(sites_of(r, "cpuid"), 1u);
    EXPECT_EQ(sites_of(r, "pushf"), 2u);
    EXPECT_EQ(sites_of(r, "popf"), 1u);
    EXPECT_EQ(sites_of(r, "rdtsc"), 2u);
    std::string padded = check_run(quote(dir_ / "padded"));
    std::string plain = check_run(quote(dir_ / "plain"));
    EXPECT_EQ(padded, plain);
    EXPECT_NE(padded.find("df 1"), std::string::npos);
    EXPECT_NE(padded.find("tsc rises 1"), std::string::npos);
    EXPECT_NE(fs::file_size(dir_ / "padded"), 0u);
}

// A trap profile turns into annotations that make the next build record
// exactly the trapping instruction.
TEST_F(Toolchain, ProfileGuidedAnnotationRecordsExactlyTheTrappingAccess) {
    fs::path src = kSource / "samples/afterburner/platform.c";
    std::string flags = "-O2 -ffreestanding -fno-pie -mno-red-zone -fno-stack-protector -nostdlib -static -no-pie "
                        "-Wl,-e,lapic_timer_set ";
    fs::path first = dir_ / "first.elf";
    check_run(cc(flags + "-o " + quote(first) + " " + quote(src)));
    elf::File image = elf::File::load(first);
    ASSERT_EQ(sites_of(inspect(image), "mmio_write"), 1u);

    // The store in lapic_timer_set is what a monitor would see trap: find it.
    uint64_t fn = 0;
    for (const elf::Symbol& s : image.symbols())
        if (s.name == "lapic_timer_set") fn = s.value;
    ASSERT_NE(fn, 0u);
    std::istringstream dump(check_run("objdump -d --no-show-raw-insn " + quote(first)));
    uint64_t store = 0;
    std::regex line(R"(^\s*([0-9a-f]+):\s+(mov|movabs)\s+%eax,\s*\S+)");
    for (std::string l; std::getline(dump, l);) {
        std::smatch m;
        if (std::regex_search(l, m, line) && std::stoull(m[1], nullptr, 16) >= fn &&
            std::stoull(m[1], nullptr, 16) < fn + 32) store = std::stoull(m[1], nullptr, 16);
    }
    ASSERT_NE(store, 0u);
    std::ostringstream traps;
    traps << "# rip kind\n" << std::hex << "0x" << store << " mmio\n0x" << store << " mmio\n0x" << fn << " io\n";
    write_file(dir_ / "traps.txt", traps.str());
    fs::path ann = dir_ / "guest.ann";
    auto annotated = run(quote(kPrevirt) + " annotate " + quote(first) + " " + quote(dir_ / "traps.txt") + " -o " + quote(ann));
    ASSERT_EQ(annotated.status, 0) << annotated.output;
    EXPECT_NE(test::read_text(ann).find("lapic_timer_set 1 mov mmio_write"), std::string::npos) << test::read_text(ann);

    fs::path second = dir_ / "second.elf";
    check_run(cc(flags + "-Wa,--previrt-annotations=" + quote(ann) + " -o " + quote(second) + " " + quote(src)));
    InspectReport r = inspect_file(second);
    EXPECT_TRUE(r.findings.empty()) << findings(r);
    EXPECT_EQ(sites_of(r, "mmio_write"), 2u);  // the marked one and the profiled one
    size_t profiled = 0;
    for (const Site& s : r.table.sites)
        if (s.record.flags & abi::kSiteProfile) {
            ++profiled;
            EXPECT_EQ(s.record.kind, static_cast<uint8_t>(SiteKind::MmioWrite));
        }
    EXPECT_EQ(profiled, 1u);
}

// 32-bit objects (as --32, as real-mode trampolines and 32-bit vDSOs are built)
// are afterburnt too, and pass inspect linked.
TEST_F(Toolchain, ThirtyTwoBitObjectsAreAfterburnt) {
    write_file(dir_ / "boot.s", "\t.text\n\t.globl _start\n_start:\n\tcli\n\tmovl %cr0, %eax\n\tlgdt gdt\n"
                                 "\tpushfl\n\tpopfl\n\t.byte 0x0f, 0x01, 0xcb\n\tljmp $8, $_start\n"
                                 "\t.code16\n\tcli\n\thlt\n\t.code64\n\tlidt (%rax)\n\t.data\ngdt:\t.quad 0\n");
    check_run(quote(kPrevirt) + " as --32 -o " + quote(dir_ / "boot.o") + " " + quote(dir_ / "boot.s"));
    InspectReport obj = inspect_file(dir_ / "boot.o");
    EXPECT_TRUE(obj.findings.empty()) << findings(obj);
    EXPECT_EQ(sites_of(obj, "cli"), 2u);
    EXPECT_EQ(sites_of(obj, "stac"), 1u);
    EXPECT_EQ(sites_of(obj, "far_jmp"), 1u);
    EXPECT_EQ(sites_of(obj, "lidt"), 1u);  // 64-bit code in a 32-bit object, as in a trampoline
    check_run("ld -m elf_i386 -o " + quote(dir_ / "boot.elf") + " " + quote(dir_ / "boot.o"));
    elf::File linked = elf::File::load(dir_ / "boot.elf");
    EXPECT_FALSE(linked.is64());
    InspectReport r = inspect(linked);
    EXPECT_TRUE(r.findings.empty()) << findings(r);
    EXPECT_EQ(sites_of(r, "hlt"), 1u);
    for (const Site& s : r.table.sites) {
        if (!s.is_code_mode() && s.record.kind == static_cast<uint8_t>(SiteKind::Hlt)) {
            EXPECT_EQ(s.record.flags & abi::kSiteModeMask, abi::kSiteMode16);
        }
    }
}

TEST_F(Toolchain, AssemblerErrorsNameTheOriginalFileAndLine) {
    write_file(dir_ / "bad.s", "\tcli\n\tnop\n\tbogus %eax\n");
    auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "bad.o") + " " + quote(dir_ / "bad.s"));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("bad.s:3:"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "bad.o"));
}

TEST_F(Toolchain, MarkerOnTheWrongInstructionIsAnError) {
    write_file(dir_ / "m.c", "#include \"previrt/site_asm.h\"\n"
                             "void f(void) { __asm__ volatile(PREVIRT_SITE_BEGIN \"nop\\n\" PREVIRT_SITE_END(128, 32, 16)); }\n");
    auto r = run(cc("-c -o " + quote(dir_ / "m.o") + " " + quote(dir_ / "m.c")));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("marked mmio_read but 'nop' does not read memory"), std::string::npos) << r.output;
}

TEST_F(Toolchain, BadInputGetsAClearErrorAndExitCode) {
    write_file(dir_ / "not-elf", "hello, world\n");
    auto r = run(quote(kPrevirt) + " inspect " + quote(dir_ / "not-elf"));
    EXPECT_EQ(r.status >> 8, 3) << r.output;
    EXPECT_NE(r.output.find("not-elf"), std::string::npos);

    std::vector<uint8_t> bytes = test::read_bytes(kPrevirt);
    bytes.resize(100);
    test::write_bytes(dir_ / "truncated", bytes);
    r = run(quote(kPrevirt) + " inspect " + quote(dir_ / "truncated"));
    EXPECT_EQ(r.status >> 8, 3) << r.output;

    write_file(dir_ / "bad.ann", "f one mov mmio_write\n");
    write_file(dir_ / "ok.s", "cli\n");
    r = run(quote(kPrevirt) + " as --previrt-annotations=" + quote(dir_ / "bad.ann") + " -o " + quote(dir_ / "ok.o") +
            " " + quote(dir_ / "ok.s"));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("bad.ann:1:"), std::string::npos) << r.output;

    write_file(dir_ / "traps.txt", "zzz mmio\n");
    r = run(quote(kPrevirt) + " annotate " + quote(kPrevirt) + " " + quote(dir_ / "traps.txt"));
    EXPECT_EQ(r.status >> 8, 3) << r.output;
    EXPECT_NE(r.output.find("traps.txt:1:"), std::string::npos) << r.output;

    r = run(quote(kPrevirt) + " frobnicate");
    EXPECT_EQ(r.status >> 8, 2);
}

// As a drop-in `as`, the hook treats its inputs and output as GNU as does.
TEST_F(Toolchain, AnOutputThatIsNoRegularFileIsWrittenNeverReplaced) {
    // A named pipe stands for /dev/null, a terminal or a pipe (every kernel
    // build's probes assemble to /dev/null): the object arrives through it,
    // finished, and the pipe is still there.
    write_file(dir_ / "t.s", "\tcli\n");
    fs::path fifo = dir_ / "out.fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    auto r = run("cat " + quote(fifo) + " > " + quote(dir_ / "got.o") + " & timeout 60 " + quote(kPrevirt) +
                 " as -o " + quote(fifo) + " " + quote(dir_ / "t.s") + " && wait");
    ASSERT_EQ(r.status, 0) << r.output;
    struct stat st{};
    ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    InspectReport report = inspect_file(dir_ / "got.o");
    EXPECT_EQ(sites_of(report, "cli"), 1u);
    EXPECT_TRUE(report.findings.empty()) << findings(report);

    // A failing assembly leaves it alone too (and never opens it).
    write_file(dir_ / "bad.s", "\tbogus %eax\n");
    r = run("timeout 60 " + quote(kPrevirt) + " as -o " + quote(fifo) + " " + quote(dir_ / "bad.s"));
    EXPECT_NE(r.status, 0);
    ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(Toolchain, InputsAreReadAsGnuAsReadsThem) {
    fs::create_directory(dir_ / "d");
    auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "d.o") + " " + quote(dir_ / "d"));
    EXPECT_EQ(r.status >> 8, 1) << r.output;
    EXPECT_NE(r.output.find("can't read from " + (dir_ / "d").string() + ": Is a directory"), std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "d.o"));

    // A string left open is GNU as's warning, not an error.
    write_file(dir_ / "u.s", "\tnop\n\t.ascii \"abc\n");
    r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "u.o") + " " + quote(dir_ / "u.s"));
    EXPECT_EQ(r.status, 0) << r.output;

    // as stops reading at .abort: the hook neither dies of the closed pipe nor hides the status.
    std::string big = "\t.abort\n";
    for (int i = 0; i < 200000; ++i) big += "\tcli\n\tnop\n";
    write_file(dir_ / "abort.s", big);
    r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "abort.o") + " " + quote(dir_ / "abort.s"));
    EXPECT_EQ(r.status >> 8, 1) << r.output;
    EXPECT_NE(r.output.find(".abort detected"), std::string::npos) << r.output;

    // Files meant to be small end in an error at their limit, not in a hang.
    write_file(dir_ / "ok.s", "\tcli\n");
    r = run("timeout 60 " + quote(kPrevirt) + " as --previrt-annotations=/dev/zero -o " + quote(dir_ / "ok.o") + " " +
            quote(dir_ / "ok.s"));
    EXPECT_EQ(r.status >> 8, 1) << r.output;
    EXPECT_NE(r.output.find("/dev/zero: more than 64 MiB"), std::string::npos) << r.output;
    r = run("timeout 60 " + quote(kPrevirt) + " annotate " + quote(kPrevirt) + " /dev/zero");
    EXPECT_EQ(r.status >> 8, 3) << r.output;
    EXPECT_NE(r.output.find("/dev/zero: more than 256 MiB"), std::string::npos) << r.output;
}

TEST_F(Toolchain, IncludedFilesArePaddedAndRecorded) {
    fs::create_directory(dir_ / "inc");
    write_file(dir_ / "inc" / "sti.s", "\tsti\n\t.include \"hlt.s\"\n");
    write_file(dir_ / "inc" / "hlt.s", "\tpushf\n");
    write_file(dir_ / "main.s", "\tcli\n\t.include \"sti.s\"; nop\n\tpopf\n");
    // Found through -I, as GNU as finds them; every instruction in them is a site.
    auto r = run("cd " + quote(dir_) + " && " + quote(kPrevirt) + " as -I inc -o main.o main.s");
    ASSERT_EQ(r.status, 0) << r.output;
    InspectReport report = inspect_file(dir_ / "main.o");
    EXPECT_EQ(sites_of(report, "cli"), 1u);
    EXPECT_EQ(sites_of(report, "sti"), 1u);
    EXPECT_EQ(sites_of(report, "pushf"), 1u);
    EXPECT_EQ(sites_of(report, "popf"), 1u);
    EXPECT_TRUE(report.findings.empty()) << findings(report);

    // Messages name the file and line: in an included file, then the including one again.
    write_file(dir_ / "inc" / "bad.s", "\tnop\n\tbogus %eax\n");
    write_file(dir_ / "errs.s", "\t.include \"bad.s\"\n\tnop\n\tbogus2 %eax\n");
    r = run("cd " + quote(dir_) + " && " + quote(kPrevirt) + " as -Iinc -o errs.o errs.s");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("inc/bad.s:2:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("errs.s:3:"), std::string::npos) << r.output;

    // A file that is not there is named at the directive's line; one that includes itself ends.
    write_file(dir_ / "missing.s", "\tnop\n\t.include \"no-such.s\"\n");
    r = run("cd " + quote(dir_) + " && " + quote(kPrevirt) + " as -o missing.o missing.s");
    EXPECT_EQ(r.status >> 8, 1) << r.output;
    EXPECT_NE(r.output.find("missing.s:2: can't open no-such.s for reading: No such file or directory"),
              std::string::npos) << r.output;
    write_file(dir_ / "self.s", "\t.include \"self.s\"\n");
    r = run("cd " + quote(dir_) + " && timeout 60 " + quote(kPrevirt) + " as -o self.o self.s");
    EXPECT_EQ(r.status >> 8, 1) << r.output;
    EXPECT_NE(r.output.find(".include nested more than 100 deep"), std::string::npos) << r.output;
}

// What the text cannot show is still recorded: found in the object, recorded
// without room by a second assembly, the code as plain as assembles it.
TEST_F(Toolchain, InstructionsOnlyTheObjectShowsAreRecordedWithoutRoom) {
    write_file(dir_ / "hidden.s",
               "\t.macro op_on name\n\t\\name\n\t.endm\n"
               "\t.macro alternative old\n\t\\old\n\t.endm\n"
               "\t.text\n"
               "f:\top_on rdmsr\n"                              // a mnemonic that is a macro argument
               "\talternative \"wrmsr\"\n"                      // an instruction handed over as a string
               "\t.byte 0x0f\n\t.byte 0x01, 0xca\n"             // clac split over two statements
               "\tcli\n"                                        // one the text shows: padded as ever
               "\t.pushsection .altinstr_replacement, \"ax\"\n"
               "\top_on swapgs\n"
               "\t.popsection\n"
               "\t.section .text.g,\"axG\",@progbits,g,comdat\n"
               "g:\top_on hlt\n");
    auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "hidden.o") + " " + quote(dir_ / "hidden.s"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("hidden.o: .text+0x0 <f>: 'rdmsr' recorded without room"), std::string::npos) << r.output;
    InspectReport report = inspect_file(dir_ / "hidden.o");
    EXPECT_TRUE(report.findings.empty()) << findings(report);
    EXPECT_EQ(sites_of(report, "rdmsr"), 1u);
    EXPECT_EQ(sites_of(report, "wrmsr"), 1u);
    EXPECT_EQ(sites_of(report, "clac"), 1u);
    EXPECT_EQ(sites_of(report, "swapgs"), 1u);
    EXPECT_EQ(sites_of(report, "hlt"), 1u);
    EXPECT_EQ(sites_of(report, "cli"), 1u);
    EXPECT_EQ(report.without_room, 5u);
    // The records of the group's code are in the group: the linker keeps or drops them together.
    std::string groups = check_run("readelf -g " + quote(dir_ / "hidden.o"));
    EXPECT_NE(groups.find(".note.previrt.sites"), std::string::npos) << groups;

    // Only the padded cli differs from what plain as makes of the same text.
    check_run("as -o " + quote(dir_ / "plain.o") + " " + quote(dir_ / "hidden.s"));
    elf::File plain = elf::File::load(dir_ / "plain.o"), hooked = elf::File::load(dir_ / "hidden.o");
    for (const char* name : {".altinstr_replacement", ".text.g"}) {
        auto a = plain.find_section(name), b = hooked.find_section(name);
        ASSERT_TRUE(a && b) << name;
        const auto& da = plain.sections()[*a].data;
        const auto& db = hooked.sections()[*b].data;
        EXPECT_TRUE(std::equal(da.begin(), da.end(), db.begin(), db.end())) << name;
    }
}

// Padding never breaks a layout the source fixes: where it would, the sites
// are recorded without room and the hook says so, naming each.
TEST_F(Toolchain, ALayoutTheSourceFixesIsKept) {
    write_file(dir_ / "org.s", "\t.text\nstart:\tcli\n\tsti\n\t.org start + 2\n\thlt\n");
    auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "org.o") + " " + quote(dir_ / "org.s"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("padding broke a layout the source fixes"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("org.s:2: cli: recorded without room"), std::string::npos) << r.output;
    InspectReport report = inspect_file(dir_ / "org.o");
    EXPECT_TRUE(report.findings.empty()) << findings(report);
    EXPECT_EQ(report.without_room, 3u);
    check_run("as -o " + quote(dir_ / "plain.o") + " " + quote(dir_ / "org.s"));
    elf::File plain = elf::File::load(dir_ / "plain.o"), hooked = elf::File::load(dir_ / "org.o");
    const auto& a = plain.sections()[*plain.find_section(".text")].data;
    const auto& b = hooked.sections()[*hooked.find_section(".text")].data;
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end()));

    // A size the source checks with .if on a difference of labels.
    write_file(dir_ / "if.s", "\t.text\nstart:\tcli\n\t.if (. - start) != 1\n\t.error \"size\"\n\t.endif\n");
    r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "if.o") + " " + quote(dir_ / "if.s"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("if.s:2: cli: recorded without room"), std::string::npos) << r.output;
    EXPECT_TRUE(inspect_file(dir_ / "if.o").findings.empty());

    // A layout the source itself breaks is its own error, reported once, as as reports it.
    write_file(dir_ / "broken.s", "\t.text\nstart:\tcli\n\tnop\n\tnop\n\t.org start + 1\n");
    r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "broken.o") + " " + quote(dir_ / "broken.s"));
    EXPECT_EQ(r.status >> 8, 1) << r.output;
    EXPECT_NE(r.output.find("broken.s:5: Error:"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("padding broke"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "broken.o"));
}

// A .code32 in one object says nothing of the next object's code: the hook
// ends a section left in another mode with a record back to the object's own,
// so a linked image is read in the right mode after it.
TEST_F(Toolchain, ACodeModeEndsWithItsObject) {
    write_file(dir_ / "a.s", "\t.text\n\t.code32\nstart32:\tcli\n\tret\n");
    // In 32-bit code these bytes read as a far return ("lret $0x4c73"), as they
    // did in Linux's decompressor before.
    write_file(dir_ / "b.s", "\t.text\n\t.globl f\nf:\tmovabs $0xfff0000000000fff, %r10\n\tcmp %rcx, %rdx\n"
                             "\tjae 1f\n1:\tret\n");
    for (const char* name : {"a", "b"}) {
        auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / (std::string(name) + ".o")) + " " +
                     quote(dir_ / (std::string(name) + ".s")));
        ASSERT_EQ(r.status, 0) << r.output;
    }
    check_run("ld -static -nostdlib -e f -o " + quote(dir_ / "ab.elf") + " " + quote(dir_ / "a.o") + " " +
              quote(dir_ / "b.o"));
    InspectReport report = inspect_file(dir_ / "ab.elf");
    EXPECT_TRUE(report.findings.empty()) << findings(report);
    EXPECT_EQ(sites_of(report, "cli"), 1u);

    // The next object's own mode holds where the first one's ends, whatever
    // the order of their records: here 16-bit code whose bytes, read as 64-bit,
    // hold a cli (66 b8 11 22 fa 33), placed by a script that puts its records first.
    write_file(dir_ / "c.s", "\t.text\n\t.code16\ng:\tmovl $0x33fa2211, %eax\n\tret\n");
    auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "c.o") + " " + quote(dir_ / "c.s"));
    ASSERT_EQ(r.status, 0) << r.output;
    // Links the objects with a linker script of `sections` and inspects the image.
    auto link_with_script = [&](const std::string& name, const std::string& sections,
                                const std::vector<std::string>& objects) {
        write_file(dir_ / (name + ".ld"), "SECTIONS {\n" + sections + "}\n");
        std::string command = "ld -static -nostdlib -e 0 -T " + quote(dir_ / (name + ".ld")) + " -o " +
                              quote(dir_ / (name + ".elf"));
        for (const std::string& o : objects) command += " " + quote(dir_ / o);
        check_run(command);
        return inspect_file(dir_ / (name + ".elf"));
    };
    report = link_with_script("ac", "  .text : { *a.o(.text) *c.o(.text) }\n"
                                    "  .note.previrt.sites : { *c.o(.note.previrt.sites) *a.o(.note.previrt.sites) }\n",
                              {"a.o", "c.o"});
    EXPECT_TRUE(report.findings.empty()) << findings(report);

    // Where one section ends and the next begins, the mode starting there is the next one's.
    write_file(dir_ / "d.s", "\t.data\n\t.byte 1, 2, 3\n");
    check_run("as -o " + quote(dir_ / "d.o") + " " + quote(dir_ / "d.s"));
    report = link_with_script("dc", "  .data : { *d.o(.data) }\n  .text : { *c.o(.text) }\n"
                                    "  .note.previrt.sites : { *(.note.previrt.sites) }\n",
                              {"d.o", "c.o"});
    EXPECT_TRUE(report.findings.empty()) << findings(report);
}

// The records are notes: a kernel's linker script that keeps every .note.* in
// one section (Linux's NOTES) takes them with its own notes and says nothing
// under --orphan-handling=error, and they are found there, COMDAT ones too.
TEST_F(Toolchain, RecordsAreNotesThatAKernelLinkerScriptKeeps) {
    write_file(dir_ / "a.s", "\t.text\n\t.globl f\nf:\tcli\n\tsti\n\tret\n"
                             "\t.section .text.g,\"axG\",@progbits,g,comdat\n\t.globl g\ng:\trdtsc\n\tret\n");
    // Another note first, as a kernel's own (Xen's ELF notes, say), of a
    // size that is a multiple of 4 only.
    write_file(dir_ / "b.s", "\t.section .note.k,\"a\",@note\n\t.balign 4\n\t.long 6, 4, 7\n"
                             "\t.asciz \"Linux\"\n\t.balign 4\n\t.long 42\n\t.text\n\t.globl h\nh:\twbinvd\n\tret\n");
    for (const char* name : {"b", "a"}) {
        auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / (std::string(name) + ".o")) + " " +
                     quote(dir_ / (std::string(name) + ".s")));
        ASSERT_EQ(r.status, 0) << r.output;
    }
    write_file(dir_ / "k.ld", "SECTIONS {\n"
                              "  .text : { *(.text .text.*) }\n"
                              "  .data : { *(.data) } .bss : { *(.bss) }\n"
                              "  .got : { *(.got) *(.igot.*) } .got.plt : { *(.got.plt) }\n"
                              "  .plt : { *(.plt) *(.plt.*) *(.iplt) } .rela.dyn : { *(.rela.*) }\n"
                              "  /DISCARD/ : { *(.note.GNU-stack) *(.note.gnu.property) }\n"
                              "  .notes : { KEEP(*(.note.*)) }\n"
                              "  .symtab 0 : { *(.symtab) } .strtab 0 : { *(.strtab) } .shstrtab 0 : { *(.shstrtab) }\n"
                              "}\n");
    auto r = run("ld -static -nostdlib -e f --orphan-handling=error -T " + quote(dir_ / "k.ld") + " -o " +
                 quote(dir_ / "k.elf") + " " + quote(dir_ / "b.o") + " " + quote(dir_ / "a.o"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "");
    elf::File image = elf::File::load(dir_ / "k.elf");
    ASSERT_FALSE(image.find_section(abi::kSiteSectionName));
    sites::SiteTable table = sites::load_site_table(image);
    EXPECT_EQ(table.chunks, 3u);  // b's, a's, a's COMDAT group's
    InspectReport report = inspect_file(dir_ / "k.elf");
    EXPECT_TRUE(report.findings.empty()) << findings(report);
    for (const char* kind : {"cli", "sti", "rdtsc", "wbinvd"}) EXPECT_EQ(sites_of(report, kind), 1u) << kind;
    // The kernel's own note is still where readers look for it.
    std::string notes = check_run("readelf -n " + quote(dir_ / "k.elf"));
    EXPECT_NE(notes.find("Linux"), std::string::npos) << notes;
}

TEST_F(Toolchain, HelpListsTheSubcommands) {
    std::string out = check_run(quote(kPrevirt) + " --help");
    for (const char* c : {"as", "inspect", "annotate", "catalogue"}) EXPECT_NE(out.find(c), std::string::npos) << c;
}

TEST_F(Toolchain, CatalogueDocumentIsCurrent) {
    std::string table = check_run(quote(kPrevirt) + " catalogue --markdown");
    std::string doc = test::read_text(kSource / "docs/sensitive-instructions.md");
    EXPECT_NE(doc.find(table), std::string::npos) << "regenerate the table with 'previrt catalogue --markdown'";
}

}  // namespace
}  // namespace previrt::afterburner

namespace previrt::afterburner {
namespace {

// What a site table says of each instruction site, for comparing two tables.
std::vector<std::string> site_facts(const elf::File& file) {
    std::vector<std::string> out;
    for (const Site& s : load_site_table(file).sites) {
        if (s.is_code_mode()) continue;
        const abi::SiteRecord& r = s.record;
        std::string facts = file.sections()[s.section].name + "+" + std::to_string(s.offset) + " kind " +
                            std::to_string(r.kind) + " " + std::to_string(r.insn_length) + "/" +
                            std::to_string(r.site_length) + " flags " + std::to_string(r.flags) + " size " +
                            std::to_string(r.operand_size) + " imm " + std::to_string(r.immediate) + " ops";
        for (unsigned k = 0; k < r.operand_count; ++k)
            facts += " " + std::to_string(r.operands[k].type) + ":" + std::to_string(r.operands[k].reg);
        out.push_back(facts);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Many sites of few kinds, in two sections, with other code between them.
std::string many_sites(size_t rounds) {
    std::string s = "\t.text\n\t.globl f\nf:\n";
    for (size_t i = 0; i < rounds; ++i) {
        s += "\tcli\n\tmov %rdi, %rax\n\tsti\n\tnop\n\tin $0x60, %al\n\toutb %al, $0x80\n\tmov %cr3, %rax\n"
             "\trdmsr\n1:\t.byte 0x0f, 0x01, 0xca\n\tjmp 1b\n";
    }
    // The first site of a section anchors the others there.
    for (size_t i = 0; i < 20; ++i)
        s += "\t.section .text.other,\"ax\",@progbits\n\tpushfq\n\tpopfq\n\twbinvd\n\tret\n\t.previous\n";
    s += "\t.rept 3\n\tcli\n\t.endr\n\tret\n";
    return s;
}

// A source with many sites that need nothing of their context gets them
// tagged: GNU as sees constant bytes where it would see the site text, and
// the records come out the same as those of the site text, in anchored chunks.
TEST_F(Toolchain, TaggedSitesGetTheRecordsOfTheSiteText) {
    std::string body = many_sites(40);
    write_file(dir_ / "tagged.s", body);
    // The same source in a conditional, where no site is tagged.
    write_file(dir_ / "plain.s", ".if 1\n" + body + ".endif\n");
    for (const char* name : {"tagged", "plain"}) {
        auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / (std::string(name) + ".o")) + " " +
                     quote(dir_ / (std::string(name) + ".s")));
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_EQ(r.output, "") << name;
    }
    elf::File tagged = elf::File::load(dir_ / "tagged.o"), plain = elf::File::load(dir_ / "plain.o");
    // Anchored chunks: one for each of the two code sections, besides the ordinary one.
    EXPECT_EQ(load_site_table(tagged).chunks, 3u);
    EXPECT_EQ(load_site_table(plain).chunks, 1u);
    EXPECT_LT(tagged.bytes().size(), plain.bytes().size());  // a relocation per chunk, not per record
    EXPECT_EQ(site_facts(tagged), site_facts(plain));
    InspectReport report = inspect_file(dir_ / "tagged.o");
    EXPECT_TRUE(report.findings.empty()) << findings(report);
    EXPECT_EQ(sites_of(report, "cli"), 43u);
    EXPECT_EQ(sites_of(report, "clac"), 40u);
    EXPECT_EQ(sites_of(report, "pushf"), 20u);
    EXPECT_EQ(report.without_room, 0u);

    // Linked, the anchors are relocated like any record.
    check_run("ld -static -nostdlib -e f -Ttext=0x200000 -o " + quote(dir_ / "tagged.elf") + " " +
              quote(dir_ / "tagged.o"));
    elf::File image = elf::File::load(dir_ / "tagged.elf");
    report = inspect(image);
    EXPECT_TRUE(report.findings.empty()) << findings(report);
    EXPECT_EQ(site_facts(image).size(), site_facts(tagged).size());
    for (const Site& s : load_site_table(image).sites)
        EXPECT_EQ(s.address, image.sections()[s.section].addr + s.offset);
}

// An anchored chunk read back: a header or a record that breaks its rules is
// refused, naming the section and the offset.
TEST_F(Toolchain, AnchoredChunksThatBreakTheirRulesAreRefused) {
    std::string body;
    for (int i = 0; i < 300; ++i) body += "\tcli\n\tmov %rdi, %rax\n";
    write_file(dir_ / "a.s", body);
    check_run(quote(kPrevirt) + " as -o " + quote(dir_ / "a.o") + " " + quote(dir_ / "a.s"));
    elf::File object = elf::File::load(dir_ / "a.o");
    size_t index = *object.find_section(abi::kSiteSectionName);
    const elf::Section& notes = object.sections()[index];
    uint64_t chunk = 0;  // the anchored chunk's header, in the file
    for (const elf::Note& n : elf::parse_notes(notes)) {
        abi::SiteChunkHeader h;
        std::memcpy(&h, n.desc.data(), sizeof h);
        if (h.flags & abi::kChunkAnchored) {
            chunk = notes.offset + n.desc_offset;
            EXPECT_EQ(h.record_size, abi::kShortSiteRecordSize);
            // The first cli anchors them; 255 more come before tagging begins.
            EXPECT_EQ(h.record_count, 300u - 1 - 255);
        }
    }
    ASSERT_NE(chunk, 0u);
    auto refused = [&](size_t at, uint8_t value, const std::string& what) {
        std::vector<uint8_t> bytes = object.bytes();
        bytes[chunk + at] = value;
        try {
            load_site_table(elf::File::parse(std::move(bytes)));
            ADD_FAILURE() << "accepted: " << what;
        } catch (const SiteTableError& e) {
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(abi::kSiteSectionName), std::string::npos) << e.what();
        }
    };
    refused(10, 3, "undefined flags 0x3");
    refused(20, 1, "reserved field is 0x1");
    refused(8, 13, "record size 13");
    // The first record's operand count, in a short record.
    refused(sizeof(abi::SiteChunkHeader) + 10, 1, "1 operands in a short record");
    // Without its flag, the chunk's anchor offset stands alone.
    std::vector<uint8_t> bytes = object.bytes();
    bytes[chunk + 10] = 0;
    bytes[chunk + 16] = 4;
    EXPECT_THROW(load_site_table(elf::File::parse(std::move(bytes))), SiteTableError);
}

// Where the object does not hold the tagged sites as the text had them (here
// a macro switches to data behind the text pass's back, where the finisher
// does not look for code), the hook assembles the source again untagged.
TEST_F(Toolchain, TaggedSitesTheObjectDoesNotConfirmFallBackToTheSiteText) {
    std::string s = "\t.macro elsewhere\n\t.data\n\t.endm\n\t.text\n";
    for (int i = 0; i < 300; ++i) s += "\tcli\n";
    s += "\telsewhere\n";
    for (int i = 0; i < 300; ++i) s += "\tsti\n\tret\n";
    write_file(dir_ / "switch.s", s);
    auto r = run(quote(kPrevirt) + " as -o " + quote(dir_ / "switch.o") + " " + quote(dir_ / "switch.s"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "");
    InspectReport report = inspect_file(dir_ / "switch.o");
    EXPECT_TRUE(report.findings.empty()) << findings(report);
    EXPECT_EQ(report.table.chunks, 1u);
    EXPECT_EQ(sites_of(report, "cli"), 300u);
    EXPECT_EQ(sites_of(report, "sti"), 300u);
    EXPECT_EQ(report.without_room, 0u);
}

}  // namespace
}  // namespace previrt::afterburner
