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

namespace {

// Calls `copy(host, done, chunk)` for each piece of [va, va + length) that
// lies in one page, translated for `access`; false at the first fault.
template <typename Copy>
bool each_page(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, size_t length, Access access,
               bool supervisor, VirtualFault& fault, Copy copy) {
    bool user = !supervisor && vcpu.user_mode();
    for (size_t done = 0; done < length;) {
        size_t chunk = 4096 - (va & 0xfff);
        if (chunk > length - done) chunk = length - done;
        Translation t = translate(memory, vcpu, va, access, user);
        if (!t.ok) {
            fault = {va, t.error_code};
            return false;
        }
        copy(memory.host(t.pa, chunk), done, chunk);
        va += chunk;
        done += chunk;
    }
    return true;
}

}  // namespace

bool read_virtual(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, void* data, size_t length,
                  bool supervisor, VirtualFault& fault) {
    auto* out = static_cast<uint8_t*>(data);
    return each_page(memory, vcpu, va, length, Access::Read, supervisor, fault,
                     [&](const uint8_t* host, size_t done, size_t n) { copy(out + done, host, n); });
}

bool write_virtual(const GuestMemory& memory, const Vcpu& vcpu, uint64_t va, const void* data, size_t length,
                   bool supervisor, VirtualFault& fault) {
    auto* in = static_cast<const uint8_t*>(data);
    return each_page(memory, vcpu, va, length, Access::Write, supervisor, fault,
                     [&](uint8_t* host, size_t done, size_t n) { copy(host, in + done, n); });
}

}  // namespace previrt::vmm
