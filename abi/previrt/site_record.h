// Site records: what the afterburner writes at build time and every in-place VMM
// reads at load time. The byte layout is described in docs/site-records.md; any
// change to it bumps kSiteFormatVersion.
//
// Freestanding: usable from the guest, the in-place VMMs and host tools alike.
#pragma once

#include <stdint.h>

#include "previrt/note.h"

namespace previrt::abi {

// The ELF section (SHT_NOTE) that holds the site records, as ELF notes: a
// linker script that keeps notes (Linux's keeps every .note.* in .notes) keeps
// them without a word about them, and a reader finds them among other notes.
inline constexpr char kSiteSectionName[] = ".note.previrt.sites";
inline constexpr uint32_t kSiteNoteType = PREVIRT_NOTE_SITES;

inline constexpr uint32_t kSiteMagic = 0x53565250;  // "PRVS", little-endian
inline constexpr uint16_t kSiteFormatVersion = 3;

// Every object file contributes one chunk per site section it has (one more for
// each COMDAT group with sites, and one per code section whose sites the hook
// found by their padding: an anchored chunk); the linker concatenates the
// chunks. A chunk is a note named "previrt" of type kSiteNoteType whose
// descriptor is this header followed by `record_count` records.
struct SiteChunkHeader {
    uint32_t magic;          // kSiteMagic
    uint16_t version;        // kSiteFormatVersion
    uint16_t header_size;    // sizeof(SiteChunkHeader)
    uint16_t record_size;    // sizeof(SiteRecord), or kShortSiteRecordSize
    uint16_t flags;          // kChunkAnchored, or zero
    uint32_t record_count;
    // kChunkAnchored: the anchor's address minus this field's address (one
    // relocation for the whole chunk); each record's insn_offset is then its
    // instruction's address minus the anchor's. Zero otherwise.
    int32_t anchor_offset;
    uint32_t reserved;       // zero
};
static_assert(sizeof(SiteChunkHeader) == 24);
static_assert(__builtin_offsetof(SiteChunkHeader, anchor_offset) == 16);

// SiteChunkHeader::flags
inline constexpr uint16_t kChunkAnchored = 1u << 0;

// A chunk whose sites have no operand and no immediate may hold its records
// short: the first kShortSiteRecordSize bytes of a SiteRecord, the rest read
// as zero.
inline constexpr uint16_t kShortSiteRecordSize = 12;

// The note around a chunk: ELF's note header and the name, padded to 4 bytes.
struct SiteNoteHeader {
    uint32_t namesz;         // sizeof(kSiteNoteName)
    uint32_t descsz;         // sizeof(SiteChunkHeader) + record_count * record_size
    uint32_t type;           // kSiteNoteType
    char name[8];            // kSiteNoteName
    SiteChunkHeader chunk;
};
inline constexpr char kSiteNoteName[] = PREVIRT_NOTE_NAME;
static_assert(sizeof(kSiteNoteName) == 8);
static_assert(sizeof(SiteNoteHeader) == 44);

// What a site holds. The values are ABI: never renumber, only append.
enum class SiteKind : uint8_t {
    Unclassified = 0,  // written by the assembler hook, replaced when the object is finished

    // Interrupt flag and flags register.
    Cli = 1, Sti = 2, Pushf = 3, Popf = 4,
    Hlt = 5,
    // Descriptor tables.
    Lgdt = 6, Lidt = 7, Lldt = 8, Ltr = 9, Sgdt = 10, Sidt = 11, Sldt = 12, Str = 13,
    // Control and debug registers.
    MovToCr = 14, MovFromCr = 15, MovToDr = 16, MovFromDr = 17, Clts = 18, Lmsw = 19, Smsw = 20,
    // TLB and caches.
    Invlpg = 21, Invpcid = 22, Wbinvd = 23, Invd = 24, Reserved25 = 25,  // 25: wbnoinvd, recorded as Wbinvd
    // Model-specific registers and counters.
    Rdmsr = 26, Wrmsr = 27, Rdpmc = 28, Rdtsc = 29, Rdtscp = 30, Rdpid = 31,
    // Processor identification and extended state.
    Cpuid = 32, Xsetbv = 33, Xsaves = 34, Xrstors = 35,
    // Privilege transitions.
    Swapgs = 36, Sysret = 37, Sysexit = 38, Iret = 39, Syscall = 40, Sysenter = 41,
    IntN = 42, Reserved43 = 43, Reserved44 = 44, Reserved45 = 45,  // int3, into, int1: they always trap
    // Port I/O.
    In = 46, Out = 47, Ins = 48, Outs = 49,
    // Power management.
    Monitor = 50, Mwait = 51,
    // Supervisor-mode access prevention.
    Stac = 52, Clac = 53,
    // Segmentation.
    MovToSreg = 54, MovFromSreg = 55, PushSreg = 56, PopSreg = 57, LoadFarPointer = 58,
    FarJmp = 59, FarCall = 60, FarRet = 61, Lar = 62, Lsl = 63, Verr = 64, Verw = 65,
    RdSegBase = 66, WrSegBase = 67,

    // Sites no scan can find: marked by hand (abi/previrt/markers.h) or from a
    // profile of the instructions that trapped.
    MmioRead = 128, MmioWrite = 129, PageTableWrite = 130,

    // Not an instruction: from this address on, the section holds code of the
    // mode in `flags` (a .code16/.code32/.code64 directive).
    CodeMode = 255,
};

// SiteRecord::flags
inline constexpr uint8_t kSiteModeMask = 0x03;  // one of the three below
inline constexpr uint8_t kSiteMode64 = 0;
inline constexpr uint8_t kSiteMode32 = 1;
inline constexpr uint8_t kSiteMode16 = 2;
inline constexpr uint8_t kSiteLock = 1u << 2;      // lock prefix
inline constexpr uint8_t kSiteRep = 1u << 3;       // rep/repe prefix
inline constexpr uint8_t kSiteRepne = 1u << 4;     // repne prefix
inline constexpr uint8_t kSiteManual = 1u << 5;    // from a marker in the source
inline constexpr uint8_t kSiteProfile = 1u << 6;   // from a trap profile
inline constexpr uint8_t kSiteFinished = 1u << 7;  // operands filled in from the decoded instruction
// A code-mode record's own flag: it ends a section's mode at the section's end,
// back to its object's. Any other code-mode record naming the same location
// (the next object's own, in a linked image) holds over it.
inline constexpr uint8_t kCodeModeAtEnd = 1u << 2;

enum class OperandType : uint8_t {
    None = 0,
    Gpr = 1,         // reg: 0-15 (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15)
    Gpr8High = 2,    // reg: 4-7 (ah, ch, dh, bh)
    Sreg = 3,        // reg: 0-5 (es, cs, ss, ds, fs, gs)
    ControlReg = 4,  // reg: cr number
    DebugReg = 5,    // reg: dr number
    Immediate = 6,   // value in SiteRecord::immediate
    Memory = 7,      // reg: base, index, scale, segment, displacement
    FarPointer = 8,  // ptr16:16/ptr16:32 stored in the instruction at disp_offset, disp_size bytes
};

inline constexpr uint8_t kNoRegister = 0xff;
inline constexpr uint8_t kRipRegister = 16;  // memory base: RIP-relative

// One explicit operand, in the order the Intel SDM lists them (destination first).
struct SiteOperand {
    uint8_t type;         // OperandType
    uint8_t size;         // bytes read or written
    uint8_t reg;          // register number; for Memory the base (kNoRegister, kRipRegister)
    uint8_t index;        // Memory: index register or kNoRegister
    uint8_t scale;        // Memory: 1, 2, 4 or 8
    uint8_t segment;      // Memory: effective segment register (0-5)
    uint8_t disp_offset;  // Memory/FarPointer: where in the instruction the value is, 0 if none
    uint8_t disp_size;    // Memory/FarPointer: its size in bytes (0, 1, 2, 4 or 6)
};
static_assert(sizeof(SiteOperand) == 8);

// One site: a sensitive instruction and the scratch space after it. A
// displacement is read from the instruction bytes (the linker may have
// relocated it); everything else is here, so no decoder is needed.
struct SiteRecord {
    int32_t insn_offset;    // address of the instruction minus address of this field (in an
                            // anchored chunk: minus the chunk's anchor)
    uint8_t insn_length;    // the original instruction, prefixes included
    uint8_t site_length;    // instruction plus NOP padding
    uint8_t kind;           // SiteKind
    uint8_t flags;          // kSiteMode*, kSite*
    uint8_t operand_size;   // effective operand size in bytes
    uint8_t address_size;   // effective address size in bytes
    uint8_t operand_count;  // explicit operands recorded in `operands`
    uint8_t reserved;       // zero
    int32_t immediate;      // the immediate operand (port, vector, far-return pop count), if any
    SiteOperand operands[2];
};
static_assert(sizeof(SiteRecord) == 32);
static_assert(__builtin_offsetof(SiteRecord, immediate) == 12);
static_assert(__builtin_offsetof(SiteRecord, operands) == 16);
static_assert(kShortSiteRecordSize == __builtin_offsetof(SiteRecord, immediate));

}  // namespace previrt::abi
