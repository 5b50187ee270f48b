#include "sites/catalogue.h"

#include <algorithm>

namespace previrt::sites {
namespace {

using enum OperandRule;
using enum Privilege;
using K = SiteKind;

// Intel SDM Vol. 3A 2.8 lists the system instructions and which of them are
// privileged; Popek and Goldberg's sensitive-but-unprivileged ones are the
// rest. Entries that share a mnemonic (mov, push, pop, jmp, call, ret) are told
// apart by their OperandRule.
constexpr CatalogueEntry kCatalogue[] = {
    {K::Cli, "cli", "cli", {ZYDIS_MNEMONIC_CLI}, None, Privileged, kShortSite,
     "clears IF; the hypervisor owns the real interrupt flag (faults at CPL > IOPL)"},
    {K::Sti, "sti", "sti", {ZYDIS_MNEMONIC_STI}, None, Privileged, kFlagsSite,
     "sets IF and opens the one-instruction interrupt shadow"},
    {K::Pushf, "pushf", "pushf pushfw pushfl pushfq", {ZYDIS_MNEMONIC_PUSHF, ZYDIS_MNEMONIC_PUSHFD, ZYDIS_MNEMONIC_PUSHFQ},
     None, Unprivileged, kFlagsSite, "reads the real IF and IOPL at any ring, so a deprivileged guest sees the host's"},
    {K::Popf, "popf", "popf popfw popfl popfq", {ZYDIS_MNEMONIC_POPF, ZYDIS_MNEMONIC_POPFD, ZYDIS_MNEMONIC_POPFQ},
     None, Unprivileged, kPopfSite, "silently ignores IF and IOPL changes below ring 0 instead of faulting"},
    {K::Hlt, "hlt", "hlt", {ZYDIS_MNEMONIC_HLT}, None, Privileged, kShortSite,
     "stops the physical CPU until an interrupt"},
    {K::Lgdt, "lgdt", "lgdt lgdtw lgdtl lgdtq", {ZYDIS_MNEMONIC_LGDT}, None, Privileged, kOperandSite,
     "loads the global descriptor table register"},
    {K::Lidt, "lidt", "lidt lidtw lidtl lidtq", {ZYDIS_MNEMONIC_LIDT}, None, Privileged, kOperandSite,
     "loads the interrupt descriptor table register"},
    {K::Lldt, "lldt", "lldt lldtw", {ZYDIS_MNEMONIC_LLDT}, None, Privileged, kOperandSite,
     "loads the local descriptor table register"},
    {K::Ltr, "ltr", "ltr ltrw", {ZYDIS_MNEMONIC_LTR}, None, Privileged, kOperandSite,
     "loads the task register"},
    {K::Sgdt, "sgdt", "sgdt sgdtw sgdtl sgdtq", {ZYDIS_MNEMONIC_SGDT}, None, Unprivileged, kOperandSite,
     "reveals the real GDT base at any ring (unless UMIP)"},
    {K::Sidt, "sidt", "sidt sidtw sidtl sidtq", {ZYDIS_MNEMONIC_SIDT}, None, Unprivileged, kOperandSite,
     "reveals the real IDT base at any ring (unless UMIP)"},
    {K::Sldt, "sldt", "sldt sldtw sldtl sldtq", {ZYDIS_MNEMONIC_SLDT}, None, Unprivileged, kOperandSite,
     "reveals the real LDT selector at any ring (unless UMIP)"},
    {K::Str, "str", "str strw strl strq", {ZYDIS_MNEMONIC_STR}, None, Unprivileged, kOperandSite,
     "reveals the real task register at any ring (unless UMIP)"},
    {K::MovToCr, "mov_to_cr", "mov movl movq", {ZYDIS_MNEMONIC_MOV}, ControlDest, Privileged, kOperandSite,
     "writes a control register: paging, protection, the page-table root"},
    {K::MovFromCr, "mov_from_cr", "mov movl movq", {ZYDIS_MNEMONIC_MOV}, ControlSource, Privileged, kOperandSite,
     "reads a control register the hypervisor virtualizes"},
    {K::MovToDr, "mov_to_dr", "mov movl movq", {ZYDIS_MNEMONIC_MOV}, DebugDest, Privileged, kOperandSite,
     "writes a debug register"},
    {K::MovFromDr, "mov_from_dr", "mov movl movq", {ZYDIS_MNEMONIC_MOV}, DebugSource, Privileged, kOperandSite,
     "reads a debug register"},
    {K::Clts, "clts", "clts", {ZYDIS_MNEMONIC_CLTS}, None, Privileged, kShortSite,
     "clears CR0.TS"},
    {K::Lmsw, "lmsw", "lmsw lmsww", {ZYDIS_MNEMONIC_LMSW}, None, Privileged, kOperandSite,
     "writes the low bits of CR0"},
    {K::Smsw, "smsw", "smsw smsww smswl smswq", {ZYDIS_MNEMONIC_SMSW}, None, Unprivileged, kOperandSite,
     "reveals the real CR0 at any ring (unless UMIP)"},
    {K::Invlpg, "invlpg", "invlpg", {ZYDIS_MNEMONIC_INVLPG}, None, Privileged, kOperandSite,
     "flushes a TLB entry the hypervisor may shadow"},
    {K::Invpcid, "invpcid", "invpcid", {ZYDIS_MNEMONIC_INVPCID}, None, Privileged, kOperandSite,
     "flushes TLB entries by process-context identifier"},
    {K::Wbinvd, "wbinvd", "wbinvd wbnoinvd", {ZYDIS_MNEMONIC_WBINVD}, None, Privileged, kShortSite,
     "writes back and invalidates all caches (wbnoinvd is wbinvd with an F3 prefix, and decodes as one)"},
    {K::Invd, "invd", "invd", {ZYDIS_MNEMONIC_INVD}, None, Privileged, kShortSite,
     "invalidates all caches without writing back"},
    {K::Rdmsr, "rdmsr", "rdmsr", {ZYDIS_MNEMONIC_RDMSR}, None, Privileged, kShortSite,
     "reads a model-specific register"},
    {K::Wrmsr, "wrmsr", "wrmsr", {ZYDIS_MNEMONIC_WRMSR}, None, Privileged, kShortSite,
     "writes a model-specific register (EFER, the syscall MSRs, segment bases)"},
    {K::Rdpmc, "rdpmc", "rdpmc", {ZYDIS_MNEMONIC_RDPMC}, None, Privileged, kShortSite,
     "reads a performance counter (privileged unless CR4.PCE)"},
    {K::Rdtsc, "rdtsc", "rdtsc", {ZYDIS_MNEMONIC_RDTSC}, None, Unprivileged, kShortSite,
     "reads the real time-stamp counter, not the guest's virtual time"},
    {K::Rdtscp, "rdtscp", "rdtscp", {ZYDIS_MNEMONIC_RDTSCP}, None, Unprivileged, kShortSite,
     "reads the real time-stamp counter and the host's TSC_AUX"},
    {K::Rdpid, "rdpid", "rdpid", {ZYDIS_MNEMONIC_RDPID}, None, Unprivileged, kOperandSite,
     "reads the host's TSC_AUX (the processor id)"},
    {K::Cpuid, "cpuid", "cpuid", {ZYDIS_MNEMONIC_CPUID}, None, Unprivileged, kShortSite,
     "reports the real processor's features, not the virtual platform's"},
    {K::Xsetbv, "xsetbv", "xsetbv", {ZYDIS_MNEMONIC_XSETBV}, None, Privileged, kShortSite,
     "writes an extended control register (XCR0)"},
    {K::Xsaves, "xsaves", "xsaves xsaves64", {ZYDIS_MNEMONIC_XSAVES, ZYDIS_MNEMONIC_XSAVES64}, None, Privileged,
     kOperandSite, "saves supervisor extended state"},
    {K::Xrstors, "xrstors", "xrstors xrstors64", {ZYDIS_MNEMONIC_XRSTORS, ZYDIS_MNEMONIC_XRSTORS64}, None,
     Privileged, kOperandSite, "restores supervisor extended state"},
    {K::Swapgs, "swapgs", "swapgs", {ZYDIS_MNEMONIC_SWAPGS}, None, Privileged, kShortSite,
     "exchanges GS base with the KERNEL_GS_BASE MSR"},
    {K::Sysret, "sysret", "sysret sysretl sysretq", {ZYDIS_MNEMONIC_SYSRET}, None, Privileged, kShortSite,
     "returns to user mode through the STAR MSR's selectors"},
    {K::Sysexit, "sysexit", "sysexit sysexitl sysexitq", {ZYDIS_MNEMONIC_SYSEXIT}, None, Privileged, kShortSite,
     "returns to user mode through the SYSENTER MSRs"},
    {K::Iret, "iret", "iret iretw iretl iretd iretq", {ZYDIS_MNEMONIC_IRET, ZYDIS_MNEMONIC_IRETD, ZYDIS_MNEMONIC_IRETQ},
     None, Unprivileged, kShortSite, "restores IF, IOPL and privilege level from the stack; below ring 0 it drops what it may not change"},
    {K::Syscall, "syscall", "syscall", {ZYDIS_MNEMONIC_SYSCALL}, None, Unprivileged, kShortSite,
     "enters the kernel through LSTAR, which a hypervisor owns"},
    {K::Sysenter, "sysenter", "sysenter", {ZYDIS_MNEMONIC_SYSENTER}, None, Unprivileged, kShortSite,
     "enters the kernel through the SYSENTER MSRs"},
    {K::IntN, "int_n", "int", {ZYDIS_MNEMONIC_INT}, None, Unprivileged, kOperandSite,
     "delivers through the real IDT, which the hypervisor owns (int3, int1 and into trap at every "
     "privilege level, so a monitor always sees them; kernels also use int3 as filler and as a "
     "speculation barrier, so they are not sites)"},
    {K::In, "in", "in inb inw inl", {ZYDIS_MNEMONIC_IN}, None, Privileged, kOperandSite,
     "reads an I/O port (faults when CPL > IOPL and the TSS bitmap denies it)"},
    {K::Out, "out", "out outb outw outl", {ZYDIS_MNEMONIC_OUT}, None, Privileged, kOperandSite,
     "writes an I/O port"},
    {K::Ins, "ins", "ins insb insw insl insd", {ZYDIS_MNEMONIC_INSB, ZYDIS_MNEMONIC_INSW, ZYDIS_MNEMONIC_INSD}, None,
     Privileged, kLongSite, "reads an I/O port into memory, repeated with rep"},
    {K::Outs, "outs", "outs outsb outsw outsl outsd", {ZYDIS_MNEMONIC_OUTSB, ZYDIS_MNEMONIC_OUTSW, ZYDIS_MNEMONIC_OUTSD},
     None, Privileged, kLongSite, "writes memory to an I/O port, repeated with rep"},
    {K::Monitor, "monitor", "monitor monitorx", {ZYDIS_MNEMONIC_MONITOR, ZYDIS_MNEMONIC_MONITORX}, None, Privileged,
     kShortSite, "arms address monitoring on the physical CPU"},
    {K::Mwait, "mwait", "mwait mwaitx", {ZYDIS_MNEMONIC_MWAIT, ZYDIS_MNEMONIC_MWAITX}, None, Privileged, kShortSite,
     "idles the physical CPU"},
    {K::Stac, "stac", "stac", {ZYDIS_MNEMONIC_STAC}, None, Privileged, kShortSite,
     "sets EFLAGS.AC to open user memory under SMAP"},
    {K::Clac, "clac", "clac", {ZYDIS_MNEMONIC_CLAC}, None, Privileged, kShortSite,
     "clears EFLAGS.AC"},
    {K::MovToSreg, "mov_to_sreg", "mov movw movl movq", {ZYDIS_MNEMONIC_MOV}, SregDest, Unprivileged, kOperandSite,
     "loads a descriptor from tables the hypervisor owns; checks the real privilege level"},
    {K::MovFromSreg, "mov_from_sreg", "mov movw movl movq", {ZYDIS_MNEMONIC_MOV}, SregSource, Unprivileged,
     kOperandSite, "reveals the selector, whose low bits are the real privilege level"},
    {K::PushSreg, "push_sreg", "push pushw pushl pushq", {ZYDIS_MNEMONIC_PUSH}, SregOperand, Unprivileged,
     kOperandSite, "reveals the selector, whose low bits are the real privilege level"},
    {K::PopSreg, "pop_sreg", "pop popw popl popq", {ZYDIS_MNEMONIC_POP}, SregOperand, Unprivileged, kOperandSite,
     "loads a descriptor from tables the hypervisor owns"},
    {K::LoadFarPointer, "load_far_pointer",
     "lds ldsw ldsl les lesw lesl lfs lfsw lfsl lfsq lgs lgsw lgsl lgsq lss lssw lssl lssq",
     {ZYDIS_MNEMONIC_LDS, ZYDIS_MNEMONIC_LES, ZYDIS_MNEMONIC_LFS, ZYDIS_MNEMONIC_LGS, ZYDIS_MNEMONIC_LSS}, None,
     Unprivileged, kOperandSite, "loads a segment register from memory"},
    {K::FarJmp, "far_jmp", "ljmp ljmpw ljmpl ljmpq", {ZYDIS_MNEMONIC_JMP}, FarBranch, Unprivileged, kOperandSite,
     "loads CS from the descriptor tables; privilege checks use the real CPL"},
    {K::FarCall, "far_call", "lcall lcallw lcalll lcallq", {ZYDIS_MNEMONIC_CALL}, FarBranch, Unprivileged,
     kOperandSite, "loads CS from the descriptor tables and pushes the real CS"},
    {K::FarRet, "far_ret", "lret lretw lretl lretq retf", {ZYDIS_MNEMONIC_RET}, FarBranch, Unprivileged,
     kOperandSite, "loads CS and maybe SS from the stack; privilege checks use the real CPL"},
    {K::Lar, "lar", "lar larw larl larq", {ZYDIS_MNEMONIC_LAR}, None, Unprivileged, kOperandSite,
     "reads descriptor access rights against the real CPL"},
    {K::Lsl, "lsl", "lsl lslw lsll lslq", {ZYDIS_MNEMONIC_LSL}, None, Unprivileged, kOperandSite,
     "reads a segment limit against the real CPL"},
    {K::Verr, "verr", "verr verrw", {ZYDIS_MNEMONIC_VERR}, None, Unprivileged, kOperandSite,
     "checks segment readability against the real CPL"},
    {K::Verw, "verw", "verw verww", {ZYDIS_MNEMONIC_VERW}, None, Unprivileged, kOperandSite,
     "checks segment writability against the real CPL"},
    {K::RdSegBase, "rd_seg_base", "rdfsbase rdfsbasel rdfsbaseq rdgsbase rdgsbasel rdgsbaseq",
     {ZYDIS_MNEMONIC_RDFSBASE, ZYDIS_MNEMONIC_RDGSBASE}, None, Unprivileged, kOperandSite,
     "reads the real FS/GS base (when CR4.FSGSBASE)"},
    {K::WrSegBase, "wr_seg_base", "wrfsbase wrfsbasel wrfsbaseq wrgsbase wrgsbasel wrgsbaseq",
     {ZYDIS_MNEMONIC_WRFSBASE, ZYDIS_MNEMONIC_WRGSBASE}, None, Unprivileged, kOperandSite,
     "writes the real FS/GS base (when CR4.FSGSBASE)"},

    // Not found by a scan: marked in the source or from a trap profile.
    {K::MmioRead, "mmio_read", "", {}, None, Unprivileged, kLongSite,
     "reads a memory-mapped device register (marked, or from a profile)"},
    {K::MmioWrite, "mmio_write", "", {}, None, Unprivileged, kLongSite,
     "writes a memory-mapped device register (marked, or from a profile)"},
    {K::PageTableWrite, "page_table_write", "", {}, None, Unprivileged, kLongSite,
     "writes a page-table entry that a shadowing hypervisor must see (marked, or from a profile)"},
};

}  // namespace

std::span<const CatalogueEntry> catalogue() { return kCatalogue; }

const CatalogueEntry* find_entry(SiteKind kind) {
    auto it = std::ranges::find(kCatalogue, kind, &CatalogueEntry::kind);
    return it == std::end(kCatalogue) ? nullptr : &*it;
}

const CatalogueEntry* find_entry(std::string_view name) {
    auto it = std::ranges::find(kCatalogue, name, &CatalogueEntry::name);
    return it == std::end(kCatalogue) ? nullptr : &*it;
}

std::string_view kind_name(uint8_t kind) {
    if (kind == static_cast<uint8_t>(SiteKind::CodeMode)) return "code_mode";
    if (kind == static_cast<uint8_t>(SiteKind::Unclassified)) return "unclassified";
    const CatalogueEntry* e = find_entry(static_cast<SiteKind>(kind));
    return e ? e->name : "unknown";
}

}  // namespace previrt::sites
