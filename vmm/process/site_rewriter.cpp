#include "vmm/process/site_rewriter.h"

#include <fmt/format.h>

#include <cstring>
#include <initializer_list>
#include <map>
#include <set>

#include "sites/catalogue.h"
#include "sites/insn_decoder.h"
#include "sites/site_table.h"
#include "vmm/process/hole.h"

namespace previrt::vmm::process {
namespace {

using abi::SiteKind;

enum class How { Keep, Generic, StiHlt, Sti, Pushf, Popf, PopfFlagsDead, InlineCli, InlineSti, InlinePushf, InlinePopf };

// What this backend does with each kind. Everything a de-privileged guest
// kernel would trap on, or would silently get wrong (pushf, popf, reading a
// segment register), becomes a call; what runs correctly at CPL 3 stays.
How how_for(SiteKind kind) {
    switch (kind) {
    case SiteKind::Cli: return How::InlineCli;
    case SiteKind::Sti: return How::Sti;
    case SiteKind::Pushf: return How::Pushf;
    case SiteKind::Popf: return How::Popf;
    case SiteKind::Cpuid:
    case SiteKind::Rdtsc:
    case SiteKind::Rdtscp:
    case SiteKind::PageTableWrite:
    case SiteKind::MmioRead:
    case SiteKind::MmioWrite:
        return How::Keep;
    default: return How::Generic;
    }
}

const char* how_name(How h) {
    switch (h) {
    case How::Keep: return "kept";
    case How::Generic: return "call to the emulator";
    case How::StiHlt: return "with the hlt after it, one call to the emulator (sti's interrupt shadow)";
    case How::Sti: return "call to the sti fast path";
    case How::Pushf: return "call to the pushf fast path";
    case How::Popf: return "call to the popf fast path";
    case How::PopfFlagsDead: return "call to the popf fast path that leaves the flags (dead after it)";
    case How::InlineCli: return "inline store to the virtual IF";
    case How::InlineSti: return "inline: virtual IF on, a call only if an event waits";
    case How::InlinePushf: return "inline: pushf with the virtual IF";
    case How::InlinePopf: return "inline: virtual IF from the stack, a call only if an event waits";
    }
    return "?";
}

// Whether the status flags a popf at `address` would load are dead: on every
// path from there, up to a return or call (after which no code relies on
// them, by the ABI), each is written before anything reads it. Straight-line
// code and direct jumps only, and not far; anything else counts as a reader.
constexpr uint32_t kStatusFlags = ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF | ZYDIS_CPUFLAG_ZF |
                                  ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF;

bool flags_dead(const sites::InsnDecoder& decoder, const uint8_t* code, uint64_t base, uint64_t size,
                uint64_t address, uint32_t flags) {
    uint32_t live = flags;
    for (int n = 0; n < 32; ++n) {
        if (address < base || address >= base + size) return false;
        uint64_t left = base + size - address;
        auto d = decoder.decode({code + (address - base), left < 15 ? left : 15});
        if (!d) return false;
        const ZydisDecodedInstruction& i = d->insn;
        if (i.cpu_flags && (i.cpu_flags->tested & live)) return false;
        if (i.mnemonic == ZYDIS_MNEMONIC_RET && i.meta.branch_type != ZYDIS_BRANCH_TYPE_FAR) return true;
        if (i.mnemonic == ZYDIS_MNEMONIC_CALL) return true;
        if (i.mnemonic == ZYDIS_MNEMONIC_JMP && d->operands[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
            d->operands[0].imm.is_relative) {
            address += i.length + static_cast<uint64_t>(d->operands[0].imm.value.s);
            continue;
        }
        if (i.meta.branch_type != ZYDIS_BRANCH_TYPE_NONE || i.mnemonic == ZYDIS_MNEMONIC_IRETQ ||
            i.mnemonic == ZYDIS_MNEMONIC_SYSRET)
            return false;
        if (i.cpu_flags) live &= ~(i.cpu_flags->modified | i.cpu_flags->set_0 | i.cpu_flags->set_1 | i.cpu_flags->undefined);
        if (!live) return true;
        address += i.length;
    }
    return false;
}

// The inline sequences: what the para-virtualized build compiles in, written
// where the site is (encodings from the Intel SDM Vol. 2). They clobber the
// status flags, so they go only where those are dead. Each ends, when an
// event waits and the virtual IF is on, in a call of the pending entry.
constexpr size_t kInlineFlagsLength = 21, kInlinePopfLength = 34;
static_assert(kInlineFlagsLength <= sites::kFlagsSite && kInlinePopfLength <= sites::kPopfSite);

// cmpb $0, pending(%rip); je +5; call pending_entry: 14 bytes at p (address a).
size_t write_pending_check(uint8_t* p, uint64_t a) {
    const uint8_t cmp[] = {0x80, 0x3d, 0, 0, 0, 0, 0x00, 0x74, 0x05, 0xe8};
    std::memcpy(p, cmp, sizeof cmp);
    put_rel32(p + 2, a + 7, kHotPage + kHotPending);
    put_rel32(p + 10, a + 14, thunk_address(Thunk::Pending));
    return 14;
}

size_t write_inline(How how, uint8_t* p, uint64_t a) {
    size_t n = 0;
    auto bytes = [&](std::initializer_list<uint8_t> b) {
        std::memcpy(p + n, b.begin(), b.size());
        n += b.size();
    };
    switch (how) {
    case How::InlineSti:
        bytes({0xc6, 0x05, 0, 0, 0, 0, 0x01});  // movb $1, interrupt_flag(%rip)
        put_rel32(p + 2, a + 7, kHotPage + kHotInterruptFlag);
        n += write_pending_check(p + n, a + n);
        break;
    case How::InlinePushf:
        // The host's IF is always set (the guest runs at CPL 3): clear it in
        // the pushed flags when the virtual IF is off. Whole-quadword
        // accesses, so that the next load of that slot is forwarded from
        // the stores.
        bytes({0x9c});                                // pushfq
        bytes({0x80, 0x3d, 0, 0, 0, 0, 0x00});        // cmpb $0, interrupt_flag(%rip)
        put_rel32(p + 3, a + 8, kHotPage + kHotInterruptFlag);
        bytes({0x75, 0x06});                          // jne +6
        bytes({0x48, 0x0f, 0xba, 0x34, 0x24, 0x09});  // btrq $9, (%rsp)
        break;
    case How::InlinePopf:
        bytes({0x48, 0x0f, 0xba, 0x24, 0x24, 0x09});  // btq $9, (%rsp)
        bytes({0x0f, 0x92, 0x05, 0, 0, 0, 0});        // setc interrupt_flag(%rip)
        put_rel32(p + 9, a + 13, kHotPage + kHotInterruptFlag);
        bytes({0x48, 0x8d, 0x64, 0x24, 0x08});        // lea 8(%rsp), %rsp
        bytes({0x73, 0x0e});                          // jnc past the check: IF stayed off
        n += write_pending_check(p + n, a + n);
        break;
    default: break;
    }
    return n;
}

}  // namespace

RewriteResult rewrite_sites(const elf::File& image, uint8_t* code, uint64_t code_base, uint64_t code_size,
                            bool rewrite) {
    sites::SiteTable table = load_sites(image);
    std::vector<CheckedSite> checked = check_sites(image, table, code, code_base, code_size);
    sites::InsnDecoder decoder;
    RewriteResult result;
    std::map<std::pair<SiteKind, How>, size_t> by_kind;
    std::map<uint64_t, const sites::Site*> hlt_sites;
    for (const auto& s : table.sites)
        if (s.record.kind == static_cast<uint8_t>(SiteKind::Hlt)) hlt_sites[s.address] = &s;

    // Decided on the image as built, before any site changes.
    std::set<uint64_t> popf_flags_dead;
    for (const auto& s : table.sites)
        if (s.record.kind == static_cast<uint8_t>(SiteKind::Popf) &&
            (s.record.flags & abi::kSiteModeMask) == abi::kSiteMode64 &&
            flags_dead(decoder, code, code_base, code_size, s.address + s.record.site_length, kStatusFlags))
            popf_flags_dead.insert(s.address);
    // Where the inline sequences may go: long enough sites whose flags are
    // dead after them (for popf, the direction flag too, which the inline
    // sequence does not load).
    std::set<uint64_t> inline_ok;
    for (const auto& s : table.sites) {
        auto k = static_cast<SiteKind>(s.record.kind);
        if ((s.record.flags & abi::kSiteModeMask) != abi::kSiteMode64) continue;
        uint32_t flags = k == SiteKind::Popf ? kStatusFlags | ZYDIS_CPUFLAG_DF : kStatusFlags;
        size_t need = k == SiteKind::Popf ? kInlinePopfLength : kInlineFlagsLength;
        if ((k == SiteKind::Sti || k == SiteKind::Pushf || k == SiteKind::Popf) && s.record.site_length >= need &&
            flags_dead(decoder, code, code_base, code_size, s.address + s.record.site_length, flags))
            inline_ok.insert(s.address);
    }

    // `sti; hlt` as the afterburner leaves it, the sti without room so that
    // its interrupt shadow covers the hlt: one site of the two.
    std::map<uint64_t, const CheckedSite*> hlt_checked;
    for (const CheckedSite& c : checked)
        if (c.site->record.kind == static_cast<uint8_t>(SiteKind::Hlt) && c.code64) hlt_checked[c.site->address] = &c;
    std::map<uint64_t, const CheckedSite*> sti_hlt;  // by the sti's address
    std::set<uint64_t> halts_joined;
    for (const CheckedSite& c : checked) {
        const abi::SiteRecord& r = c.site->record;
        auto h = hlt_checked.find(c.site->address + r.site_length);
        if (rewrite && c.code64 && r.kind == static_cast<uint8_t>(SiteKind::Sti) && r.site_length < 5 &&
            h != hlt_checked.end() && r.site_length + h->second->site->record.site_length >= 5) {
            sti_hlt[c.site->address] = h->second;
            halts_joined.insert(h->first);
        }
    }

    for (const CheckedSite& c : checked) {
        const sites::Site& s = *c.site;
        ++result.total;
        if (halts_joined.count(s.address)) {
            ++result.rewritten;
            ++by_kind[{SiteKind::Hlt, How::StiHlt}];
            continue;  // written with its sti
        }
        const abi::SiteRecord& r = s.record;
        uint8_t* p = code + (s.address - code_base);
        bool code32 = !c.code64;
        const sites::DecodedInsn* d = &c.decoded;
        auto kind = static_cast<SiteKind>(r.kind);
        How how = code32 ? How::Keep : how_for(kind);
        if (how == How::InlineCli && r.site_length < 7) how = How::Generic;
        if (how != How::Keep && how != How::InlineCli && r.site_length < 5) how = How::Keep;  // it traps instead
        if (how == How::Popf && popf_flags_dead.count(s.address)) how = How::PopfFlagsDead;
        if (inline_ok.count(s.address))
            how = how == How::Sti ? How::InlineSti : how == How::Pushf ? How::InlinePushf
                : (how == How::Popf || how == How::PopfFlagsDead) ? How::InlinePopf : how;
        if (sti_hlt.count(s.address)) how = How::StiHlt;
        if (!rewrite) how = How::Keep;
        ++by_kind[{kind, how}];
        if (how == How::Keep) {
            ++result.left;
            continue;
        }
        ++result.rewritten;
        if (how == How::InlineCli) {
            // movb $0, interrupt_flag(%rip) (Intel SDM Vol. 2B, MOV: C6 /0 ib)
            p[0] = 0xc6;
            p[1] = 0x05;
            put_rel32(p + 2, s.address + 7, kHotPage + kHotInterruptFlag);
            p[6] = 0;
            fill_nops(p + 7, r.site_length - 7);
            continue;
        }
        if (how == How::InlineSti || how == How::InlinePushf || how == How::InlinePopf) {
            size_t n = write_inline(how, p, s.address);
            fill_nops(p + n, r.site_length - n);
            if (how == How::InlineSti)
                result.sti_returns[s.address + n] = hlt_sites.count(s.address + r.site_length) != 0;
            continue;
        }
        uint64_t target = how == How::Sti             ? fast_path_address(FastPath::Sti)
                          : how == How::Pushf         ? fast_path_address(FastPath::Pushf)
                          : how == How::Popf          ? fast_path_address(FastPath::Popf)
                          : how == How::PopfFlagsDead ? fast_path_address(FastPath::PopfFlagsDead)
                                                      : thunk_address(Thunk::Generic);
        RewrittenSite site;
        site.address = s.address;
        site.site_length = r.site_length;
        site.kind = r.kind;
        site.insn = *d;
        site.sti_before_hlt = kind == SiteKind::Sti && hlt_sites.count(s.address + r.site_length);
        if (how == How::StiHlt) {
            const CheckedSite& h = *sti_hlt.at(s.address);
            site.site_length = static_cast<uint8_t>(r.site_length + h.site->record.site_length);
            site.then_halt = true;
            site.halt = h.decoded;
        }
        result.sites.emplace(s.address, site);
        p[0] = 0xe8;  // call rel32
        put_rel32(p + 1, s.address + 5, target);
        if (how == How::Sti) result.sti_returns[s.address + 5] = hlt_sites.count(s.address + r.site_length) != 0;
        fill_nops(p + 5, site.site_length - 5);
    }
    for (const auto& [k, n] : by_kind)
        result.summary += fmt::format("  {:<18} {:>4}  {}\n", sites::kind_name(static_cast<uint8_t>(k.first)),
                                      n, how_name(k.second));
    return result;
}

}  // namespace previrt::vmm::process
