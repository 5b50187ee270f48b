#include "sites/insn_decoder.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace previrt::sites {
namespace {

ZydisMachineMode machine_mode_for(uint8_t mode) {
    switch (mode & abi::kSiteModeMask) {
    case abi::kSiteMode32: return ZYDIS_MACHINE_MODE_LEGACY_32;
    case abi::kSiteMode16: return ZYDIS_MACHINE_MODE_LEGACY_16;
    default: return ZYDIS_MACHINE_MODE_LONG_64;
    }
}

ZydisStackWidth stack_width_for(uint8_t mode) {
    switch (mode & abi::kSiteModeMask) {
    case abi::kSiteMode32: return ZYDIS_STACK_WIDTH_32;
    case abi::kSiteMode16: return ZYDIS_STACK_WIDTH_16;
    default: return ZYDIS_STACK_WIDTH_64;
    }
}

ZydisRegisterClass register_class(const ZydisDecodedOperand& op) {
    return op.type == ZYDIS_OPERAND_TYPE_REGISTER ? ZydisRegisterGetClass(op.reg.value) : ZYDIS_REGCLASS_INVALID;
}

bool operand_has_class(const DecodedInsn& d, unsigned index, ZydisRegisterClass cls) {
    return index < d.insn.operand_count_visible && register_class(d.operands[index]) == cls;
}

bool rule_holds(const DecodedInsn& d, OperandRule rule) {
    switch (rule) {
    case OperandRule::None: return true;
    case OperandRule::ControlDest: return operand_has_class(d, 0, ZYDIS_REGCLASS_CONTROL);
    case OperandRule::ControlSource: return operand_has_class(d, 1, ZYDIS_REGCLASS_CONTROL);
    case OperandRule::DebugDest: return operand_has_class(d, 0, ZYDIS_REGCLASS_DEBUG);
    case OperandRule::DebugSource: return operand_has_class(d, 1, ZYDIS_REGCLASS_DEBUG);
    case OperandRule::SregDest: return operand_has_class(d, 0, ZYDIS_REGCLASS_SEGMENT);
    case OperandRule::SregSource: return operand_has_class(d, 1, ZYDIS_REGCLASS_SEGMENT);
    case OperandRule::SregOperand: return operand_has_class(d, 0, ZYDIS_REGCLASS_SEGMENT);
    case OperandRule::FarBranch: return d.insn.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
    }
    return false;
}

uint8_t register_number(ZydisMachineMode mode, ZydisRegister reg, abi::OperandType& type) {
    switch (reg) {
    case ZYDIS_REGISTER_AH: case ZYDIS_REGISTER_CH: case ZYDIS_REGISTER_DH: case ZYDIS_REGISTER_BH:
        type = abi::OperandType::Gpr8High;
        return static_cast<uint8_t>(4 + (reg - ZYDIS_REGISTER_AH));
    default: break;
    }
    switch (ZydisRegisterGetClass(reg)) {
    case ZYDIS_REGCLASS_GPR8: case ZYDIS_REGCLASS_GPR16: case ZYDIS_REGCLASS_GPR32: case ZYDIS_REGCLASS_GPR64:
        type = abi::OperandType::Gpr;
        return static_cast<uint8_t>(ZydisRegisterGetId(ZydisRegisterGetLargestEnclosing(mode, reg)));
    case ZYDIS_REGCLASS_SEGMENT: type = abi::OperandType::Sreg; break;
    case ZYDIS_REGCLASS_CONTROL: type = abi::OperandType::ControlReg; break;
    case ZYDIS_REGCLASS_DEBUG: type = abi::OperandType::DebugReg; break;
    default: type = abi::OperandType::None; return abi::kNoRegister;
    }
    return static_cast<uint8_t>(ZydisRegisterGetId(reg));
}

uint8_t memory_register(ZydisMachineMode mode, ZydisRegister reg) {
    if (reg == ZYDIS_REGISTER_NONE) return abi::kNoRegister;
    if (reg == ZYDIS_REGISTER_RIP || reg == ZYDIS_REGISTER_EIP) return abi::kRipRegister;
    abi::OperandType ignored;
    return register_number(mode, reg, ignored);
}

}  // namespace

InsnDecoder::InsnDecoder(uint8_t mode) : machine_mode_(machine_mode_for(mode)) {
    if (ZYAN_FAILED(ZydisDecoderInit(&decoder_, machine_mode_, stack_width_for(mode))) ||
        ZYAN_FAILED(ZydisFormatterInit(&formatter_, ZYDIS_FORMATTER_STYLE_ATT)))
        throw std::runtime_error("cannot initialise the Zydis decoder");
}

std::optional<DecodedInsn> InsnDecoder::decode(std::span<const uint8_t> bytes) const {
    DecodedInsn d;
    if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder_, bytes.data(), bytes.size(), &d.insn, d.operands)))
        return std::nullopt;
    return d;
}

std::optional<ZydisDecodedInstruction> InsnDecoder::decode_brief(std::span<const uint8_t> bytes) const {
    ZydisDecoderContext context;
    ZydisDecodedInstruction insn;
    if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(&decoder_, &context, bytes.data(), bytes.size(), &insn)))
        return std::nullopt;
    return insn;
}

std::string InsnDecoder::format(const DecodedInsn& d, uint64_t address) const {
    char buffer[256];
    if (ZYAN_FAILED(ZydisFormatterFormatInstruction(&formatter_, &d.insn, d.operands, d.insn.operand_count_visible,
                                                     buffer, sizeof buffer, address, nullptr)))
        return "(unformattable)";
    return buffer;
}

const CatalogueEntry* classify(const DecodedInsn& d) {
    for (const CatalogueEntry& e : catalogue()) {
        if (std::ranges::find(e.zydis, d.insn.mnemonic) != e.zydis.end() && d.insn.mnemonic != ZYDIS_MNEMONIC_INVALID &&
            rule_holds(d, e.rule))
            return &e;
    }
    return nullptr;
}

bool may_be_sensitive(ZydisMnemonic mnemonic) {
    static const auto table = [] {
        std::array<bool, ZYDIS_MNEMONIC_MAX_VALUE + 1> t{};
        for (const CatalogueEntry& e : catalogue())
            for (ZydisMnemonic m : e.zydis)
                if (m != ZYDIS_MNEMONIC_INVALID) t[m] = true;
        return t;
    }();
    return mnemonic <= ZYDIS_MNEMONIC_MAX_VALUE && table[mnemonic];
}

bool is_nop(const DecodedInsn& d) { return d.insn.mnemonic == ZYDIS_MNEMONIC_NOP; }

static bool memory_access(const DecodedInsn& d, ZydisOperandAction mask) {
    for (unsigned i = 0; i < d.insn.operand_count_visible; ++i) {
        const ZydisDecodedOperand& op = d.operands[i];
        if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && op.mem.type == ZYDIS_MEMOP_TYPE_MEM && (op.actions & mask))
            return true;
    }
    return false;
}

bool reads_memory(const DecodedInsn& d) { return memory_access(d, ZYDIS_OPERAND_ACTION_MASK_READ); }
bool writes_memory(const DecodedInsn& d) { return memory_access(d, ZYDIS_OPERAND_ACTION_MASK_WRITE); }

std::string kind_mismatch(const DecodedInsn& d, uint8_t kind, const std::string& text) {
    if (is_marked_kind(kind)) {
        bool read = kind == static_cast<uint8_t>(SiteKind::MmioRead);
        if (read ? reads_memory(d) : writes_memory(d)) return "";
        return "marked " + std::string(kind_name(kind)) + " but '" + text + "' does not " + (read ? "read" : "write") +
               " memory";
    }
    const CatalogueEntry* entry = classify(d);
    if (!entry) return "recorded as " + std::string(kind_name(kind)) + " but '" + text + "' is not sensitive";
    if (kind != static_cast<uint8_t>(SiteKind::Unclassified) && kind != static_cast<uint8_t>(entry->kind))
        return "recorded as " + std::string(kind_name(kind)) + " but '" + text + "' is " + std::string(entry->name);
    return "";
}

void describe(const DecodedInsn& d, abi::SiteRecord& record) {
    const ZydisMachineMode mode = d.insn.machine_mode;
    record.operand_size = static_cast<uint8_t>(d.insn.operand_width / 8);
    record.address_size = static_cast<uint8_t>(d.insn.address_width / 8);
    record.flags &= static_cast<uint8_t>(~(abi::kSiteLock | abi::kSiteRep | abi::kSiteRepne));
    if (d.insn.attributes & ZYDIS_ATTRIB_HAS_LOCK) record.flags |= abi::kSiteLock;
    if (d.insn.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) record.flags |= abi::kSiteRep;
    if (d.insn.attributes & ZYDIS_ATTRIB_HAS_REPNE) record.flags |= abi::kSiteRepne;
    record.immediate = 0;
    record.operand_count = 0;
    record.reserved = 0;
    for (abi::SiteOperand& op : record.operands) op = abi::SiteOperand{};

    for (unsigned i = 0; i < d.insn.operand_count_visible && record.operand_count < 2; ++i) {
        const ZydisDecodedOperand& src = d.operands[i];
        abi::SiteOperand& op = record.operands[record.operand_count];
        abi::OperandType type = abi::OperandType::None;
        op.size = static_cast<uint8_t>((src.size + 7) / 8);
        op.reg = op.index = op.segment = abi::kNoRegister;
        switch (src.type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            op.reg = register_number(mode, src.reg.value, type);
            break;
        case ZYDIS_OPERAND_TYPE_MEMORY:
            type = abi::OperandType::Memory;
            op.reg = memory_register(mode, src.mem.base);
            op.index = memory_register(mode, src.mem.index);
            op.scale = src.mem.scale ? src.mem.scale : 1;
            op.segment = static_cast<uint8_t>(ZydisRegisterGetId(src.mem.segment));
            op.disp_offset = d.insn.raw.disp.offset;
            op.disp_size = static_cast<uint8_t>(d.insn.raw.disp.size / 8);
            break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE:
            type = abi::OperandType::Immediate;
            record.immediate = static_cast<int32_t>(src.imm.value.s);
            break;
        case ZYDIS_OPERAND_TYPE_POINTER:
            // Both parts may be relocated: the in-place VMM reads them from the instruction.
            type = abi::OperandType::FarPointer;
            op.disp_offset = d.insn.raw.imm[0].offset;
            op.disp_size = static_cast<uint8_t>((d.insn.raw.imm[0].size + d.insn.raw.imm[1].size) / 8);
            break;
        default:
            break;
        }
        op.type = static_cast<uint8_t>(type);
        ++record.operand_count;
    }
}

}  // namespace previrt::sites
