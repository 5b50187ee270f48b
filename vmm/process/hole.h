// The in-place VMM's part of the guest's address space, in the hole the
// guest layout keeps free (abi/previrt/guest_layout.h): what rewritten sites
// and a para-virtualized guest (abi/previrt/paravirt.h) reach with a rel32
// call or a RIP-relative store, since the host's own code and data lie far
// beyond a 32-bit displacement.
//
//   kVmmHoleBase + 0x000  thunks for rewritten sites: `jmp *slot(%rip)` into
//                         the host's entries, or `jmp` to a fast path
//   kVmmHoleBase + 0x400  the fast paths (entry.S, previrt_hole_code): code
//                         that runs here, beside the hot page it uses
//   kVmmHoleBase + 0x800  para-virtual entries: `push $op; jmp *slot(%rip)`
//   kVmmHoleBase + 0x1000 the hot page: virtual IF, event pending, and where
//                         the fast paths go on (a `ret`, or the pending entry)
#pragma once

#include <stdint.h>

#include "previrt/guest_layout.h"
#include "previrt/paravirt.h"

namespace previrt::vmm::process {

inline constexpr uint64_t kThunkPage = layout::kVmmHoleBase;
inline constexpr uint64_t kHotPage = pv::kHotPage;
inline constexpr uint64_t kHoleMapped = 0x2000;
inline constexpr uint64_t kFastCode = kThunkPage + 0x400;  // entry.S assembles the fast paths for this address

// Entry points a site can call, each a 16-byte thunk in the thunk page; and
// Pending, where the fast paths go on when an event waits.
enum class Thunk : unsigned { Generic, Pending, Count };
inline constexpr uint64_t thunk_address(Thunk t) { return kThunkPage + 16 * static_cast<unsigned>(t); }
static_assert(thunk_address(Thunk::Count) <= kFastCode && kFastCode + 0x400 <= pv::kEntryBase);

// The fast paths a site calls directly, at fixed places in kFastCode (entry.S).
enum class FastPath : unsigned { Sti, Pushf, Popf, PopfFlagsDead, Ret };
inline constexpr uint64_t fast_path_address(FastPath f) { return kFastCode + 0x40 * static_cast<unsigned>(f); }

// The hot bytes. Offsets are shared with entry.S.
struct HotPage {
    uint8_t interrupt_flag;  // the virtual IF: what cli and sti change
    uint8_t pending;         // a host event (timer, console) waits to be looked at
    uint8_t reserved[6];
    // Where the sti and popf fast paths jump when done: a `ret`, or, while
    // an event is pending, the Pending thunk. A jump through memory needs no
    // flags, so the fast paths keep the guest's without pushf/popf.
    uint64_t continuation;
};
inline constexpr unsigned kHotInterruptFlag = 0;
inline constexpr unsigned kHotPending = 1;
inline constexpr unsigned kHotContinuation = 8;
static_assert(__builtin_offsetof(HotPage, continuation) == kHotContinuation);
static_assert(kHotPage + kHotInterruptFlag == pv::kInterruptFlag && kHotPage + kHotPending == pv::kEventPending);

inline HotPage* hot() { return reinterpret_cast<HotPage*>(kHotPage); }

}  // namespace previrt::vmm::process
