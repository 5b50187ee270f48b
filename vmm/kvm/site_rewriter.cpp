#include "vmm/kvm/site_rewriter.h"

#include <fmt/format.h>

#include <cstring>
#include <map>

#include "sites/catalogue.h"

namespace previrt::vmm::kvm {
namespace {

using abi::SiteKind;

// What KVM would exit on, among the recorded kinds, and what the VMM does
// instead; 0 for what stays.
// `in`/`out` with al, ax or eax and an immediate or dx: the port and size, so
// that the VMM needs no emulator for them.
bool port_form(const DecodedInstruction& d, bool in, uint8_t& size, uint16_t& port) {
    const ZydisDecodedOperand& data = d.operands[in ? 0 : 1];
    const ZydisDecodedOperand& where = d.operands[in ? 1 : 0];
    GprOperand g;
    if (data.type != ZYDIS_OPERAND_TYPE_REGISTER || !gpr_of(data.reg.value, g) || g.index != kRax || g.high_byte ||
        (g.bytes != 1 && g.bytes != 2 && g.bytes != 4))
        return false;
    size = static_cast<uint8_t>(g.bytes);
    if (where.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && where.imm.value.u <= 0xff) {
        port = static_cast<uint16_t>(where.imm.value.u);
        return true;
    }
    if (where.type == ZYDIS_OPERAND_TYPE_REGISTER && where.reg.value == ZYDIS_REGISTER_DX) {
        port = kPortInDx;
        return true;
    }
    return false;
}

SiteAction action_for(const CheckedSite& c, SiteEntry& e) {
    switch (static_cast<SiteKind>(c.site->record.kind)) {
    case SiteKind::In:
    case SiteKind::Out: {
        bool in = static_cast<SiteKind>(c.site->record.kind) == SiteKind::In;
        DecodedInstruction d = c.decoded;
        if (d.insn.operand_count_visible == 2 && port_form(d, in, e.size, e.port))
            return in ? SiteAction::PortIn : SiteAction::PortOut;
        return SiteAction::Emulate;
    }
    case SiteKind::Cpuid: return SiteAction::Cpuid;
    case SiteKind::MovToCr: {
        const auto& ops = c.decoded.operands;
        GprOperand g;
        if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value == ZYDIS_REGISTER_CR3 &&
            ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_of(ops[1].reg.value, g) && g.bytes == 8) {
            e.reg = static_cast<uint8_t>(g.index);
            return SiteAction::WriteCr3;
        }
        return SiteAction{};
    }
    default: return SiteAction{};
    }
}

const char* action_name(SiteAction a) {
    switch (a) {
    case SiteAction::Emulate: return "call: the core's emulator, the device models in place (or the port passed on)";
    case SiteAction::PortIn:
    case SiteAction::PortOut: return "call: port and size from load time, the device models in place (or the port passed on)";
    case SiteAction::Cpuid: return "call: answered from KVM's CPUID table";
    case SiteAction::WriteCr3: return "call: the hole mapped in the new root, then the load";
    }
    return "kept: KVM runs it";
}

}  // namespace

Rewrite rewrite_sites(const elf::File& image, uint8_t* code, uint64_t code_base, uint64_t code_size, bool rewrite,
                      uint8_t* stubs, uint64_t entry) {
    sites::SiteTable table = load_sites(image);
    std::vector<CheckedSite> checked = check_sites(image, table, code, code_base, code_size);
    Rewrite result;
    std::map<std::pair<uint8_t, SiteAction>, size_t> by_kind;
    for (const CheckedSite& c : checked) {
        ++result.total;
        const abi::SiteRecord& r = c.site->record;
        SiteEntry e{};
        SiteAction action = c.code64 && r.site_length >= 5 && rewrite ? action_for(c, e) : SiteAction{};
        ++by_kind[{r.kind, action}];
        if (action == SiteAction{}) {
            ++result.left;
            continue;
        }
        if (result.table.size() >= kMaxSites || result.table.size() >= kMaxStubs)
            throw SiteError(fmt::format("more than {} sites to rewrite: the in-place VMM's table is full", kMaxSites));
        uint64_t index = result.table.size();
        e.address = c.site->address;
        e.site_length = r.site_length;
        e.action = action;
        e.insn = c.decoded;
        result.table.push_back(e);

        // The stub: push $index (68 id: sign-extended to 64 bits); jmp entry (e9 cd).
        uint64_t stub = kStubs + kStubSize * index;
        uint8_t* s = stubs + kStubSize * index;
        s[0] = 0x68;
        auto i32 = static_cast<uint32_t>(index);
        std::memcpy(s + 1, &i32, 4);
        s[5] = 0xe9;
        put_rel32(s + 6, stub + 10, entry);
        fill_nops(s + 10, kStubSize - 10);
        // The site: call stub (e8 cd), then NOPs as before.
        uint8_t* p = code + (c.site->address - code_base);
        p[0] = 0xe8;
        put_rel32(p + 1, c.site->address + 5, stub);
        fill_nops(p + 5, r.site_length - 5);
        ++result.rewritten;
    }
    for (const auto& [k, n] : by_kind)
        result.summary += fmt::format("  {:<18} {:>4}  {}\n", sites::kind_name(k.first), n, action_name(k.second));
    return result;
}

}  // namespace previrt::vmm::kvm
