// libFuzzer target: previrt-vmm's side of the in-place VMM's console ring and
// doorbells (ChannelReader), which read what the guest writes. The input is
// a run of steps a guest could take: set the ring's indices, put bytes into
// the ring as the VMM does, scribble anywhere on the channel page, ring the
// doorbell with any value, wake the console thread (the ioeventfd). After
// each, what the reader did is checked against the page as it was: the bytes
// that waited, in order, and the tail moved to the head; or, for indices that
// cannot be and doorbells that mean nothing, its named error and nothing
// moved. The channel is a heap object of its own size, so that the address
// sanitizer sees any read outside it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "tenders/kvm/channel_reader.h"
#include "testing/fuzz_input.h"
#include "vmm/kvm/channel.h"

namespace {

using namespace previrt::kvm;
using namespace previrt::vmm::kvm;

// The console: what the reader wrote since the last look.
std::string written;
std::FILE* console() {
    static std::FILE* f = [] {
        cookie_io_functions_t io{};
        io.write = [](void*, const char* buf, size_t n) -> ssize_t {
            written.append(buf, n);
            return static_cast<ssize_t>(n);
        };
        return fopencookie(nullptr, "w", io);
    }();
    return f;
}

[[noreturn]] void wrong(const char* what) {
    std::fprintf(stderr, "%s\n", what);
    __builtin_trap();
}

bool starts_with(const char* s, std::string_view prefix) { return std::string_view(s).starts_with(prefix); }

// A drain, by the doorbell (why) or by the console thread (why 0): the bytes
// that waited, or the error for indices that cannot be.
void drain(ChannelReader& reader, Channel& c, uint32_t why) {
    ConsoleRing& ring = c.console;
    uint32_t head = ring.head, tail = ring.tail, waiting = head - tail;
    bool impossible = waiting > kConsoleSize;
    std::string expected(impossible ? 0 : waiting, '\0');
    for (uint32_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<char>(ring.data[(tail + i) % kConsoleSize]);
    written.clear();
    try {
        if (why) reader.doorbell(why);
        else reader.drain_console();
    } catch (const ChannelError& e) {
        if (!impossible || !starts_with(e.what(), "the console ring says ")) wrong(e.what());
        if (ring.tail != tail) wrong("the tail moved for indices that cannot be");
        std::fflush(console());
        if (!written.empty()) wrong("bytes written for indices that cannot be");
        return;
    }
    if (impossible) wrong("indices that cannot be were taken");
    std::fflush(console());
    if (written != expected) wrong("the console got other bytes than waited in the ring");
    if (ring.tail != head) wrong("the tail is not where the head was");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    previrt::test::FuzzInput in{data, size};
    auto channel = std::make_unique<Channel>();
    Channel& c = *channel;
    ChannelReader reader(c, console());
    uint64_t rung[ChannelReader::kDoorbellKinds] = {};
    uint8_t op;
    while (in.take(op)) {
        switch (op % 8) {
        case 0:
            if (!in.take(c.console.head)) return 0;
            break;
        case 1:
            if (!in.take(c.console.tail)) return 0;
            break;
        case 2: {  // bytes into the ring, as the VMM's transmit puts them
            uint8_t n, byte;
            if (!in.take(n)) return 0;
            for (unsigned i = 0; i < n && in.take(byte); ++i) c.console.data[c.console.head++ % kConsoleSize] = byte;
            break;
        }
        case 3: {  // anything anywhere on the page
            uint16_t at;
            uint8_t n, byte;
            if (!in.take(at) || !in.take(n)) return 0;
            auto* page = reinterpret_cast<uint8_t*>(&c);
            for (unsigned i = 0; i < n && in.take(byte); ++i) page[(at + i) % sizeof(Channel)] = byte;
            break;
        }
        case 4:
        case 5: {  // the doorbell, with any value or with one of the few that mean something
            uint32_t why;
            if (op % 8 == 4) {
                if (!in.take(why)) return 0;
            } else {
                uint8_t small;
                if (!in.take(small)) return 0;
                why = small % (ChannelReader::kDoorbellKinds + 1);
            }
            ++rung[why < ChannelReader::kDoorbellKinds ? why : 0];
            if (why == kConsoleFull) {
                drain(reader, c, why);
            } else {
                bool started = c.started;
                try {
                    reader.doorbell(why);
                    if (why != kHello && why != kInterrupt && why != kTimer) wrong("a doorbell that means nothing taken");
                    if (why == kHello && (!started || !reader.host_origin())) wrong("a hello taken wrongly");
                } catch (const ChannelError& e) {
                    bool named = why == kHello    ? !started && starts_with(e.what(), "the in-place VMM said hello")
                                 : why == kBadCall ? starts_with(e.what(), "it entered the in-place VMM with ")
                                 : why == kInterrupt || why == kTimer
                                     ? false
                                     : starts_with(e.what(), "the in-place VMM rang the doorbell with ");
                    if (!named) wrong(e.what());
                }
            }
            if (reader.take_at_doorbell() != (why != kConsoleFull)) wrong("stopped at a doorbell, or not, wrongly");
            break;
        }
        case 6: drain(reader, c, 0); break;  // the console thread, woken by the ioeventfd
        case 7: {
            uint8_t started;
            if (!in.take(started)) return 0;
            c.started = started & 1;
            break;
        }
        }
    }
    for (unsigned why = 0; why < ChannelReader::kDoorbellKinds; ++why)
        if (reader.rung(why) != rung[why]) wrong("a doorbell counted wrongly");
    return 0;
}
