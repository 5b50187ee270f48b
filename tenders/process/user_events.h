// What a stop of the user-mode child means (user_space.h): the x86 event
// behind the signal it stopped with, the instruction behind a system call
// stop, and UserRegisters to and from the host's user_regs_struct.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "tenders/process/user_space.h"

struct user_regs_struct;

namespace previrt::vmm::process::user_events {

// The x86 event behind a signal an instruction raised; false for a signal
// someone sent (si_code <= 0: kill, our interrupt) or one no fault raises.
// A data access to the stub's execute-only page (SEGV_PKUERR) is a present
// PageFault like any other access violation.
bool fault_event(pid_t pid, int sig, const siginfo_t& info, UserEvent& event);

// The instruction behind a system call stop: the two bytes before rip.
uint16_t system_call_insn(pid_t pid, uint64_t rip);

// Copies user code's registers into `to`, keeping its other fields (segment
// selectors, orig_rax unless it must change).
void load(user_regs_struct& to, const UserRegisters& from);
void store(UserRegisters& to, const user_regs_struct& from);

std::string hex(uint64_t value);  // "0x..." for messages

}  // namespace previrt::vmm::process::user_events
