// Blocking: a process waits on a queue until an interrupt handler or another
// process wakes it.
#pragma once

namespace guest {

struct Process;

struct WaitQueue {
    Process* head = nullptr;
};

class IrqSaveLock;

// Puts the current process to sleep on `q` and runs another; returns once woken.
// Call with `held` locked (so interrupts are disabled), after checking the
// condition: the lock is let go only once the process is on the queue, and taken
// again before returning, so that no wake-up is lost and no lock is held while
// asleep.
void sleep_on(WaitQueue& q, IrqSaveLock& held);
// Makes every process on `q` runnable. Safe from interrupt handlers.
void wake_all(WaitQueue& q);

}  // namespace guest
