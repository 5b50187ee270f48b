// Saves the UART with bytes waiting, restores the snapshot into a fresh UART
// and checks the two cannot be told apart; then restores it from any bytes at
// all and checks that what it does next still makes sense.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "devices/tests/hostile_state.h"
#include "devices/uart16550.h"

namespace previrt::devices {
namespace {

constexpr uint16_t kBase = 0x2f8;  // COM2: the base is the caller's, not the snapshot's
constexpr uint16_t kData = kBase, kIer = kBase + 1, kIir = kBase + 2, kFcr = kBase + 2, kLcr = kBase + 3,
                   kMcr = kBase + 4, kLsr = kBase + 5, kScr = kBase + 7;
constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut2 = 0x08, kMcrLoop = 0x10;
constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;

// A UART with its interrupt line and its output recorded.
struct RecordedUart {
    explicit RecordedUart(uint16_t base = kBase)
        : uart([this](bool level) { irq.push_back(level); }, [this](uint8_t b) { sent.push_back(char(b)); }, base) {}
    uint8_t in(uint16_t port) { return static_cast<uint8_t>(uart.read(port, 1)); }
    void out(uint16_t port, uint8_t value) { uart.write(port, 1, value); }

    std::vector<bool> irq;
    std::string sent;
    Uart16550 uart;
};

// A console driver's set-up (9600 8N1, FIFOs, DTR, RTS and OUT2, the receive,
// THRE and line status interrupts), a line sent, and input arriving faster
// than it is read: the FIFO part read, an overrun flagged, a modem status
// change not yet read.
void bring_up(RecordedUart& u) {
    u.out(kLcr, 0x80);
    u.out(kData, 0x0c);
    u.out(kIer, 0x00);
    u.out(kLcr, 0x03);
    u.out(kFcr, 0x07);
    u.out(kMcr, kMcrDtr | kMcrRts | kMcrOut2);
    u.out(kIer, 0x07);
    for (char c : std::string("login: ")) u.out(kData, static_cast<uint8_t>(c));
    u.in(kIir);
    u.out(kScr, 0x5a);
    for (int i = 0; i < 20; ++i) u.uart.receive(static_cast<uint8_t>('a' + i));
    u.in(kData);
    u.in(kData);
    u.out(kMcr, kMcrDtr | kMcrOut2);  // RTS drops
}

// What the driver does next, with everything the UART says in return.
std::vector<int> carry_on(RecordedUart& u) {
    std::vector<int> seen;
    auto look = [&] {
        seen.push_back(u.uart.can_receive());
        for (uint16_t port = kBase; port < kBase + pc::uart16550::kPorts; ++port)
            if (port != kData) seen.push_back(u.in(port));
    };
    look();
    for (int i = 0; i < 6; ++i) seen.push_back(u.in(kData));
    look();
    u.out(kData, 'x');
    u.uart.receive('1');
    u.uart.receive('2');
    look();
    u.out(kLcr, 0x83);
    seen.push_back(u.in(kData));
    seen.push_back(u.in(kIer));
    u.out(kLcr, 0x03);
    u.out(kFcr, 0x00);  // 16450 mode: the FIFO goes
    u.uart.receive('3');
    u.uart.receive('4');
    look();
    seen.push_back(u.in(kData));
    u.out(kMcr, kMcrLoop | kMcrOut2);
    u.out(kData, 'y');
    look();
    seen.push_back(u.in(kData));
    seen.push_back(u.in(kData));
    u.out(kMcr, kMcrDtr | kMcrRts | kMcrOut2);
    u.out(kIer, 0x0f);
    look();
    return seen;
}

TEST(UartStateTest, RestoredUartCarriesOnAsTheSavedOne) {
    RecordedUart saved, restored;
    bring_up(saved);
    restored.uart.restore(saved.uart.save());
    EXPECT_TRUE(restored.irq.empty());
    EXPECT_TRUE(restored.sent.empty());

    saved.irq.clear();
    saved.sent.clear();
    EXPECT_EQ(carry_on(restored), carry_on(saved));
    EXPECT_EQ(restored.irq, saved.irq);
    EXPECT_EQ(restored.sent, saved.sent);
    EXPECT_FALSE(saved.irq.empty());
    EXPECT_EQ(state_bytes(restored.uart.save()), state_bytes(saved.uart.save()));
}

// The line's level comes back too: a UART restored with its interrupt up
// drops it (a call) when the cause goes, and raises nothing first.
TEST(UartStateTest, RestoredLineLevel) {
    RecordedUart saved, restored;
    bring_up(saved);
    ASSERT_EQ(saved.irq.back(), true);
    restored.uart.restore(saved.uart.save());
    restored.out(kIer, 0x00);
    EXPECT_EQ(restored.irq, std::vector<bool>{false});
}

TEST(UartStateTest, RestoreThenSaveGivesTheSameBytes) {
    RecordedUart uart, fresh(pc::uart16550::kCom1Base), other;
    bring_up(uart);
    Uart16550::State state = uart.uart.save();
    fresh.uart.restore(state);
    EXPECT_EQ(state_bytes(fresh.uart.save()), state_bytes(state));
    uart.out(kFcr, 0x00);
    uart.uart.receive('z');
    state = uart.uart.save();
    fresh.uart.restore(state);
    EXPECT_EQ(state_bytes(fresh.uart.save()), state_bytes(state));
    state = other.uart.save();  // just reset
    fresh.uart.restore(state);
    EXPECT_EQ(state_bytes(fresh.uart.save()), state_bytes(state));
    EXPECT_TRUE(fresh.irq.empty());
}

// Whatever the snapshot held: restore() calls nothing; the normalised state
// restores to itself; the line changes at every call and stands where IIR and
// MCR.OUT2 say; LSR and IIR read as a 16550A's can; the FIFO never holds more
// than it can, and gives back exactly what LSR.DR promised.
TEST(UartStateTest, AnyBytesRestoreToAWorkingUart) {
    RecordedUart real;
    bring_up(real);
    std::mt19937 rng(16550);
    for (const Uart16550::State& hostile : hostile_states(real.uart.save(), 3000, 16550)) {
        RecordedUart u;
        u.uart.restore(hostile);
        ASSERT_TRUE(u.irq.empty());
        ASSERT_TRUE(u.sent.empty());
        Uart16550::State normal = u.uart.save();
        {
            RecordedUart again;
            again.uart.restore(normal);
            ASSERT_EQ(state_bytes(again.uart.save()), state_bytes(normal));
        }
        // The line's level as restored: what IIR says (read before anything
        // can change it) gated by OUT2.
        uint8_t mcr = u.in(kMcr), iir = u.in(kIir);
        bool level = !(iir & 0x01) && (mcr & kMcrOut2);
        auto check = [&] {
            for (size_t i = 0; i < u.irq.size(); ++i) EXPECT_NE(u.irq[i], i == 0 ? level : u.irq[i - 1]);
            bool now = u.irq.empty() ? level : u.irq.back();
            Uart16550::State s = u.uart.save();
            EXPECT_LT(s.rx_head, pc::uart16550::kFifoSize);
            EXPECT_LE(s.rx_count, s.fifo_enabled ? pc::uart16550::kFifoSize : 1u);
            EXPECT_LE(s.fifo_enabled | s.thr_interrupt, 1);
            uint8_t i = u.in(kIir);
            EXPECT_EQ(i & 0x38, 0) << int(i);  // no timeout indication, bits 5:4 zero
            EXPECT_EQ(i & 0xc0, s.fifo_enabled ? 0xc0 : 0x00);
            EXPECT_EQ(now, !(i & 0x01) && (s.mcr & kMcrOut2));
            uint8_t lsr = u.in(kLsr);
            EXPECT_EQ(lsr & (kLsrThre | kLsrTemt | 0x80), kLsrThre | kLsrTemt);
            EXPECT_EQ((lsr & kLsrDr) != 0, s.rx_count > 0);
            uint8_t lsr_again = u.in(kLsr);
            EXPECT_EQ(lsr_again & 0x1e, 0);  // the errors went with the first read
        };

        check();
        for (uint16_t port = kBase; port < kBase + pc::uart16550::kPorts + 2; ++port) u.in(port);
        check();
        for (int i = 0; i < 20; ++i) {
            bool room = u.uart.can_receive();
            u.uart.receive(static_cast<uint8_t>(i));
            uint8_t mcr_now = u.in(kMcr), lsr_now = u.in(kLsr);
            EXPECT_TRUE(room || (mcr_now & kMcrLoop) || (lsr_now & kLsrOe));
        }
        check();
        for (int i = 0; i < 40; ++i) {
            uint16_t port = static_cast<uint16_t>(kBase + rng() % pc::uart16550::kPorts);
            switch (rng() % 4) {
                case 0:
                    u.out(port, static_cast<uint8_t>(rng()));
                    break;
                case 1:
                    u.in(port);
                    break;
                case 2:
                    u.uart.receive(static_cast<uint8_t>(rng()));
                    break;
                default: {
                    // A driver draining the FIFO: as many bytes as LSR.DR allows, no more.
                    unsigned drained = 0;
                    uint8_t lcr = u.in(kLcr);
                    u.out(kLcr, lcr & 0x7f);
                    auto data_ready = [&u] { return (kLsrDr & u.in(kLsr)) != 0; };
                    while (data_ready() && drained <= pc::uart16550::kFifoSize) {
                        u.in(kData);
                        ++drained;
                    }
                    EXPECT_LE(drained, pc::uart16550::kFifoSize);
                    break;
                }
            }
            check();
        }
        if (testing::Test::HasFailure()) {
            ADD_FAILURE() << "from the state " << testing::PrintToString(state_bytes(hostile));
            return;
        }
    }
}

}  // namespace
}  // namespace previrt::devices
