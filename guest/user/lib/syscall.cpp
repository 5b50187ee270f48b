#include "user/lib/syscall.h"

namespace user {

int64_t write_all(int64_t fd, const void* buf, uint64_t size) {
    const char* p = static_cast<const char*>(buf);
    uint64_t done = 0;
    while (done < size) {
        int64_t n = write(fd, p + done, size - done);
        if (n < 0) return n;
        if (n == 0) break;  // no progress: report the short count rather than spin
        done += static_cast<uint64_t>(n);
    }
    return static_cast<int64_t>(done);
}

uint64_t tsc_hz() {
    static uint64_t hz = 0;
    if (hz == 0) {
        int64_t reported = info(sys::kInfoTscHz);
        // Below 1 MHz it is surely a calibration failure.
        hz = reported >= 1'000'000 ? static_cast<uint64_t>(reported) : 3'000'000'000;
    }
    return hz;
}

}  // namespace user
