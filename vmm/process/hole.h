// The in-place VMM's part of the guest's address space, in the hole the
// guest layout keeps free (abi/previrt/guest_layout.h): what rewritten sites
// and a para-virtualized guest (abi/previrt/paravirt.h) reach with a rel32
// call or a RIP-relative store, since the host's own code and data lie far
// beyond a 32-bit displacement.
//
//   kVmmHoleBase + 0x000  thunks for rewritten sites: `jmp *slot(%rip)`
//   kVmmHoleBase + 0x800  para-virtual entries: `push $op; jmp *slot(%rip)`
//   kVmmHoleBase + 0x1000 the hot page: virtual IF, event pending
#pragma once

#include <stdint.h>

#include "previrt/guest_layout.h"
#include "previrt/paravirt.h"

namespace previrt::vmm::process {

inline constexpr uint64_t kThunkPage = layout::kVmmHoleBase;
inline constexpr uint64_t kHotPage = pv::kHotPage;
inline constexpr uint64_t kHoleMapped = 0x2000;

// Entry points a site can call, each a 16-byte thunk in the thunk page.
enum class Thunk : unsigned { Generic, Sti, Pushf, Popf, Count };
inline constexpr uint64_t thunk_address(Thunk t) { return kThunkPage + 16 * static_cast<unsigned>(t); }
static_assert(thunk_address(Thunk::Count) <= pv::kEntryBase);

// The hot bytes. Offsets are shared with entry.S.
struct HotPage {
    uint8_t interrupt_flag;  // the virtual IF: what cli and sti change
    uint8_t pending;         // a host event (timer, console) waits to be looked at
};
inline constexpr unsigned kHotInterruptFlag = 0;
inline constexpr unsigned kHotPending = 1;
static_assert(kHotPage + kHotInterruptFlag == pv::kInterruptFlag && kHotPage + kHotPending == pv::kEventPending);

inline HotPage* hot() { return reinterpret_cast<HotPage*>(kHotPage); }

}  // namespace previrt::vmm::process
