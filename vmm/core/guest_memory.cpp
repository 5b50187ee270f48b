#include "vmm/core/guest_memory.h"

namespace previrt::vmm {
namespace {

void copy(uint8_t* to, const uint8_t* from, size_t n) {
    for (size_t i = 0; i < n; ++i) to[i] = from[i];
}

}  // namespace

Translation translate(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, Access access, bool user) {
    Translation t;
    uint32_t code = (access == Access::Write ? kPfWrite : 0) | (user ? kPfUser : 0) |
                    (access == Access::Fetch ? kPfFetch : 0);
    if (!is_canonical(va)) {
        t.error_code = code;  // a #GP on hardware; callers that care check canonicality first
        return t;
    }
    bool writable = true, usr = true, executable = true;
    uint64_t table = vcpu.cr3 & kCr3AddressMask;
    for (int level = 3; level >= 0; --level) {
        unsigned index = (va >> (12 + 9 * level)) & 0x1ff;
        const uint8_t* p = memory.host(table + index * 8, 8);
        if (!p) {
            t.error_code = code | kPfReserved;
            return t;
        }
        uint64_t e;
        copy(reinterpret_cast<uint8_t*>(&e), p, 8);
        if (!(e & kPtePresent)) {
            t.error_code = code;
            return t;
        }
        writable = writable && (e & kPteWritable);
        usr = usr && (e & kPteUser);
        if ((vcpu.efer & kEferNxe) && (e & kPteNoExecute)) executable = false;
        bool leaf = level == 0 || ((level == 1 || level == 2) && (e & kPteLarge));
        if (leaf) {
            uint64_t page_size = 1ull << (12 + 9 * level);
            uint64_t frame = e & kPteAddressMask & ~(page_size - 1);
            t.pa = frame | (va & (page_size - 1));
            break;
        }
        table = e & kPteAddressMask;
    }
    code |= kPfPresent;
    bool denied = (user && !usr) || (access == Access::Fetch && !executable) ||
                  (access == Access::Write && !writable && (user || (vcpu.cr0 & kCr0Wp)));
    if (denied || !memory.host(t.pa & ~0xfffull, 4096)) {
        t.error_code = code;
        t.device = !denied;
        return t;
    }
    t.ok = true;
    t.writable = writable;
    t.user = usr;
    t.executable = executable;
    return t;
}

bool read_virtual(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, void* data, size_t length,
                  bool supervisor, VirtualFault& fault) {
    auto* out = static_cast<uint8_t*>(data);
    bool user = !supervisor && vcpu.user_mode();
    while (length) {
        size_t chunk = 4096 - (va & 0xfff);
        if (chunk > length) chunk = length;
        Translation t = translate(memory, vcpu, va, Access::Read, user);
        if (!t.ok) {
            fault = {va, t.error_code};
            return false;
        }
        copy(out, memory.host(t.pa, chunk), chunk);
        out += chunk;
        va += chunk;
        length -= chunk;
    }
    return true;
}

bool write_virtual(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, const void* data, size_t length,
                   bool supervisor, VirtualFault& fault) {
    auto* in = static_cast<const uint8_t*>(data);
    bool user = !supervisor && vcpu.user_mode();
    while (length) {
        size_t chunk = 4096 - (va & 0xfff);
        if (chunk > length) chunk = length;
        Translation t = translate(memory, vcpu, va, Access::Write, user);
        if (!t.ok) {
            fault = {va, t.error_code};
            return false;
        }
        copy(memory.host(t.pa, chunk), in, chunk);
        in += chunk;
        va += chunk;
        length -= chunk;
    }
    return true;
}

}  // namespace previrt::vmm
