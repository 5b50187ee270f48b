#include "kernel/elf_loader.h"

#include "abi/syscalls.h"
#include "kernel/console.h"
#include "kernel/frames.h"
#include "lib/string.h"
#include "previrt/guest_layout.h"

extern "C" const guest::Program embedded_programs[];

namespace guest {
namespace {

// ELF-64 Object File Format, version 1.5: file header and program header.
struct Elf64Header {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct Elf64Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};
static_assert(sizeof(Elf64Header) == 64 && sizeof(Elf64Phdr) == 56);

constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPfExecute = 1, kPfWrite = 2;

bool in_user(uint64_t start, uint64_t size) {
    return start >= previrt::layout::kUserBase && start <= previrt::layout::kUserEnd &&
           size <= previrt::layout::kUserEnd - start;
}

}  // namespace

const Program* find_program(const char* name) {
    for (const Program* p = embedded_programs; p->name; ++p)
        if (strcmp(p->name, name) == 0) return p;
    return nullptr;
}

int64_t load_program(const Program& program, paging::AddressSpace& space, uint64_t* entry) {
    size_t size = static_cast<size_t>(program.end - program.start);
    if (size < sizeof(Elf64Header)) return sys::kInvalid;
    Elf64Header h;
    memcpy(&h, program.start, sizeof h);
    if (memcmp(h.ident, "\x7f" "ELF", 4) != 0 || h.ident[4] != 2 || h.ident[5] != 1 || h.type != 2 ||
        h.machine != 62 || h.phentsize != sizeof(Elf64Phdr) || h.phoff > size ||
        h.phnum > (size - h.phoff) / sizeof(Elf64Phdr)) {
        kprintf("program %s: not a static x86-64 ELF executable\n", program.name);
        return sys::kInvalid;
    }
    bool entry_ok = false;
    for (unsigned i = 0; i < h.phnum; ++i) {
        Elf64Phdr ph;
        memcpy(&ph, program.start + h.phoff + i * sizeof ph, sizeof ph);
        if (ph.type != kPtLoad) continue;
        if (ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset || !in_user(ph.vaddr, ph.memsz)) {
            kprintf("program %s: segment %u lies outside the file or user space\n", program.name, i);
            return sys::kInvalid;
        }
        if (h.entry >= ph.vaddr && h.entry < ph.vaddr + ph.memsz && (ph.flags & kPfExecute)) entry_ok = true;
        uint64_t flags = (ph.flags & kPfWrite ? paging::kWritable : 0) | (ph.flags & kPfExecute ? 0 : paging::kNoExecute);
        for (uint64_t page = ph.vaddr & ~(kPageSize - 1); page < ph.vaddr + ph.memsz; page += kPageSize) {
            uint64_t pte = paging::lookup(space, page);
            uint64_t frame = pte ? pte & paging::kAddressMask : frame_alloc();
            if (!frame) return sys::kNoMemory;
            if (!pte && !paging::map(space, page, frame, flags)) {
                frame_free(frame);
                return sys::kNoMemory;
            }
            // The part of the file that falls in this page.
            uint64_t from = page > ph.vaddr ? page : ph.vaddr;
            uint64_t to = page + kPageSize < ph.vaddr + ph.filesz ? page + kPageSize : ph.vaddr + ph.filesz;
            if (from < to)
                memcpy(phys_to_virt<uint8_t>(frame) + (from - page), program.start + ph.offset + (from - ph.vaddr),
                       to - from);
        }
    }
    if (!entry_ok) {
        kprintf("program %s: entry point %lx is not in an executable segment\n", program.name, h.entry);
        return sys::kInvalid;
    }
    *entry = h.entry;
    return 0;
}

}  // namespace guest
