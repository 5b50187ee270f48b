// Drives the UART the way a driver does: through its eight ports, watching
// the interrupt line and the line's output.
#include "devices/uart16550.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace previrt::devices {
namespace {

constexpr uint16_t kBase = pc::uart16550::kCom1Base;
constexpr uint16_t kData = kBase, kIer = kBase + 1, kIir = kBase + 2, kFcr = kBase + 2, kLcr = kBase + 3,
                   kMcr = kBase + 4, kLsr = kBase + 5, kMsr = kBase + 6, kScr = kBase + 7;

constexpr uint8_t kIerRx = 0x01, kIerThre = 0x02, kIerLineStatus = 0x04, kIerModemStatus = 0x08;
constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kIirNone = 0x01, kIirLineStatus = 0x06, kIirRx = 0x04, kIirThre = 0x02, kIirModem = 0x00;
constexpr uint8_t kIirFifos = 0xc0;

class UartTest : public ::testing::Test {
protected:
    uint8_t in(uint16_t port) { return static_cast<uint8_t>(uart.read(port, 1)); }
    void out(uint16_t port, uint8_t value) { uart.write(port, 1, value); }

    // What a console driver does first: 115200 8N1, FIFOs on and cleared,
    // DTR, RTS and OUT2.
    void init(uint8_t ier) {
        out(kIer, 0);
        out(kLcr, 0x80);
        out(kData, 0x01);
        out(kIer, 0x00);
        out(kLcr, 0x03);
        out(kFcr, 0x07);
        out(kMcr, kMcrDtr | kMcrRts | kMcrOut2);
        out(kIer, ier);
    }

    std::vector<bool> edges;
    std::string sent;
    Uart16550 uart{[this](bool level) { edges.push_back(level); }, [this](uint8_t b) { sent.push_back(char(b)); }};
};

TEST_F(UartTest, ResetState) {
    EXPECT_EQ(in(kIer), 0);
    EXPECT_EQ(in(kIir), kIirNone);
    EXPECT_EQ(in(kLcr), 0);
    EXPECT_EQ(in(kMcr), 0);
    EXPECT_EQ(in(kLsr), kLsrThre | kLsrTemt);
    EXPECT_EQ(in(kMsr), 0xb0);  // CTS, DSR and DCD: the console is always there
    EXPECT_TRUE(uart.can_receive());
    EXPECT_TRUE(edges.empty());
}

TEST_F(UartTest, DivisorLatchSharesTheFirstTwoPorts) {
    out(kLcr, 0x80);
    out(kData, 0x0c);
    out(kIer, 0x01);
    EXPECT_EQ(in(kData), 0x0c);
    EXPECT_EQ(in(kIer), 0x01);
    out(kLcr, 0x03);
    EXPECT_EQ(in(kLcr), 0x03);
    EXPECT_EQ(in(kIer), 0x00);  // IER again, untouched by the divisor writes
    EXPECT_TRUE(sent.empty());
}

TEST_F(UartTest, TransmitsWhatTheGuestWrites) {
    init(0);
    for (char c : std::string("hi\n")) out(kData, uint8_t(c));
    EXPECT_EQ(sent, "hi\n");
    EXPECT_EQ(in(kLsr), kLsrThre | kLsrTemt);
    EXPECT_EQ(in(kIir), kIirFifos | kIirNone);
    EXPECT_TRUE(edges.empty());
}

TEST_F(UartTest, ReceiveInterruptFollowsTheFifo) {
    init(kIerRx);
    uart.receive('a');
    uart.receive('b');
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(in(kIir), kIirFifos | kIirRx);
    EXPECT_EQ(in(kLsr)&kLsrDr, kLsrDr);
    EXPECT_EQ(in(kData), 'a');
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(in(kData), 'b');
    EXPECT_EQ(edges, (std::vector<bool>{true, false}));
    EXPECT_EQ(in(kLsr)&kLsrDr, 0);
    EXPECT_EQ(in(kIir), kIirFifos | kIirNone);
    EXPECT_EQ(in(kData), 'b');  // an empty RBR repeats its last byte
}

TEST_F(UartTest, Out2GatesTheLine) {
    init(kIerRx);
    out(kMcr, kMcrDtr | kMcrRts);
    uart.receive('x');
    EXPECT_TRUE(edges.empty());
    EXPECT_EQ(in(kIir), kIirFifos | kIirRx);  // pending in the chip all the same
    out(kMcr, kMcrDtr | kMcrRts | kMcrOut2);
    EXPECT_EQ(edges, std::vector<bool>{true});
}

TEST_F(UartTest, FullFifoLosesTheNewByteAndSetsOverrun) {
    init(kIerRx);
    for (int i = 0; i < 16; ++i) {
        EXPECT_TRUE(uart.can_receive());
        uart.receive(uint8_t('A' + i));
    }
    EXPECT_FALSE(uart.can_receive());
    uart.receive('!');
    EXPECT_EQ(in(kLsr), kLsrDr | kLsrOe | kLsrThre | kLsrTemt);
    EXPECT_EQ(in(kLsr)&kLsrOe, 0);  // reading LSR cleared it
    for (int i = 0; i < 16; ++i) EXPECT_EQ(in(kData), 'A' + i);
    EXPECT_EQ(in(kLsr)&kLsrDr, 0);
}

TEST_F(UartTest, WithoutFifoTheNewByteOverwrites) {
    out(kFcr, 0x00);
    uart.receive('a');
    EXPECT_FALSE(uart.can_receive());
    uart.receive('b');
    EXPECT_EQ(in(kLsr) & (kLsrDr | kLsrOe), kLsrDr | kLsrOe);
    EXPECT_EQ(in(kData), 'b');
    EXPECT_EQ(in(kIir), kIirNone);  // no FIFO bits in 16450 mode
}

TEST_F(UartTest, LineStatusOutranksReceivedData) {
    init(kIerRx | kIerLineStatus);
    for (int i = 0; i < 17; ++i) uart.receive('z');
    EXPECT_EQ(in(kIir), kIirFifos | kIirLineStatus);
    in(kLsr);
    EXPECT_EQ(in(kIir), kIirFifos | kIirRx);
    EXPECT_EQ(edges, std::vector<bool>{true});
}

TEST_F(UartTest, FifoClearEmptiesTheReceiver) {
    init(kIerRx);
    uart.receive('a');
    uart.receive('b');
    out(kFcr, 0x03);
    EXPECT_EQ(in(kLsr)&kLsrDr, 0);
    EXPECT_EQ(edges, (std::vector<bool>{true, false}));
    // Switching the FIFOs off empties them too.
    uart.receive('c');
    out(kFcr, 0x00);
    EXPECT_EQ(in(kLsr)&kLsrDr, 0);
}

TEST_F(UartTest, ThrEmptyInterruptIsClearedByReadingIirAndRaisedByEachWrite) {
    init(0);
    out(kIer, kIerThre);  // THR is empty: the interrupt comes at once
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(in(kIir), kIirFifos | kIirThre);
    EXPECT_EQ(edges, (std::vector<bool>{true, false}));
    EXPECT_EQ(in(kIir), kIirFifos | kIirNone);
    out(kData, 'q');  // a fresh edge for an edge-triggered PIC
    EXPECT_EQ(sent, "q");
    EXPECT_EQ(edges, (std::vector<bool>{true, false, true}));
    out(kData, 'r');
    EXPECT_EQ(edges, (std::vector<bool>{true, false, true, false, true}));
    out(kIer, 0);
    EXPECT_EQ(edges.back(), false);
}

TEST_F(UartTest, ReceivedDataOutranksThrEmpty) {
    init(kIerRx | kIerThre);
    uart.receive('k');
    EXPECT_EQ(in(kIir), kIirFifos | kIirRx);  // reading it does not clear THRE
    EXPECT_EQ(in(kData), 'k');
    EXPECT_EQ(in(kIir), kIirFifos | kIirThre);
    EXPECT_EQ(in(kIir), kIirFifos | kIirNone);
    EXPECT_EQ(edges, (std::vector<bool>{true, false}));
}

TEST_F(UartTest, LoopbackRoundTripRaisesTheReceiveInterrupt) {
    init(kIerRx);
    out(kMcr, kMcrDtr | kMcrRts | kMcrOut2 | kMcrLoop);
    for (char c : std::string("ping")) out(kData, uint8_t(c));
    EXPECT_TRUE(sent.empty());
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(in(kIir), kIirFifos | kIirRx);
    std::string got;
    while (in(kLsr)&kLsrDr) got.push_back(char(in(kData)));
    EXPECT_EQ(got, "ping");
    EXPECT_EQ(edges, (std::vector<bool>{true, false}));
    out(kMcr, kMcrDtr | kMcrRts | kMcrOut2);
    out(kData, '!');
    EXPECT_EQ(sent, "!");
}

TEST_F(UartTest, LoopbackDisconnectsTheLineInput) {
    init(kIerRx);
    out(kMcr, kMcrOut2 | kMcrLoop);
    EXPECT_FALSE(uart.can_receive());
    uart.receive('x');
    EXPECT_EQ(in(kLsr)&kLsrDr, 0);
    EXPECT_TRUE(edges.empty());
}

TEST_F(UartTest, LoopbackMsrReflectsMcr) {
    in(kMsr);
    out(kMcr, kMcrLoop | kMcrOut1);
    // RI from OUT1; CTS, DSR and DCD dropped, and each change is flagged.
    EXPECT_EQ(in(kMsr), 0x40 | 0x0b);
    EXPECT_EQ(in(kMsr), 0x40);
    out(kMcr, kMcrLoop | kMcrRts | kMcrDtr | kMcrOut2);
    EXPECT_EQ(in(kMsr), 0xb0 | 0x0f);  // RI fell: its trailing edge is flagged too
    out(kMcr, kMcrLoop);
    out(kMcr, kMcrLoop | kMcrOut1);  // RI rising is not flagged
    EXPECT_EQ(in(kMsr), 0x40 | 0x0b);
}

TEST_F(UartTest, ModemStatusInterrupt) {
    init(kIerModemStatus);
    out(kMcr, kMcrOut2 | kMcrLoop | kMcrRts | kMcrDtr);
    EXPECT_TRUE(edges.empty());  // nothing changed: the inputs match what the terminal showed
    out(kMcr, kMcrOut2 | kMcrLoop | kMcrDtr);
    EXPECT_EQ(edges, std::vector<bool>{true});
    EXPECT_EQ(in(kIir), kIirFifos | kIirModem);
    EXPECT_EQ(in(kMsr)&0x0f, 0x01);
    EXPECT_EQ(edges, (std::vector<bool>{true, false}));
}

TEST_F(UartTest, ScratchAndWideAccesses) {
    out(kScr, 0x5a);
    EXPECT_EQ(in(kScr), 0x5a);
    out(kLcr, 0x03);
    out(kMcr, kMcrDtr);
    // An ISA bus splits a word access into bytes at successive ports.
    EXPECT_EQ(uart.read(kLcr, 2), 0x0103u);
    uart.write(kLcr, 2, 0x0b1b);
    EXPECT_EQ(in(kLcr), 0x1b);
    EXPECT_EQ(in(kMcr), 0x0b);
    EXPECT_EQ(uart.read(kScr, 2), 0xff5au);  // the byte past the UART reads as nothing there
}

TEST_F(UartTest, OtherBase) {
    std::string out2;
    Uart16550 com2([](bool) {}, [&](uint8_t b) { out2.push_back(char(b)); }, 0x2f8);
    com2.write(0x2f8, 1, 'z');
    EXPECT_EQ(out2, "z");
    EXPECT_EQ(com2.read(0x2fd, 1), uint32_t{kLsrThre | kLsrTemt});
}

}  // namespace
}  // namespace previrt::devices
