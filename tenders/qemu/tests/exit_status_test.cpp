// What QEMU's end means for `previrt run --on qemu`: the guest's status only
// once the machine was started and QEMU said nothing of its own.
#include "tenders/qemu/qemu.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

namespace previrt::tenders {
namespace {

int exited(int code) { return W_EXITCODE(code, 0); }

TEST(QemuExitStatus, TheGuestsStatusComesThroughTheDebugExitDevice) {
    EXPECT_EQ(exit_status(exited(1), true, false), 0);         // the guest wrote 0
    EXPECT_EQ(exit_status(exited(42 << 1 | 1), true, false), 42);
    EXPECT_EQ(exit_status(exited(0), true, false), kExitGuestNoStatus);  // a reset
}

TEST(QemuExitStatus, QemusOwnFailureIsNeverTheGuestsZero) {
    EXPECT_EQ(exit_status(exited(1), false, false), kExitPlatform);  // before the machine started
    EXPECT_EQ(exit_status(exited(1), false, true), kExitPlatform);
    EXPECT_EQ(exit_status(exited(1), true, true), kExitPlatform);    // an error line of QEMU's
    EXPECT_EQ(exit_status(W_EXITCODE(0, SIGKILL), true, false), kExitPlatform);
}

}  // namespace
}  // namespace previrt::tenders
