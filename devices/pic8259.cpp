#include "devices/pic8259.h"

#include <utility>

#include "pc/pic8259.h"

namespace previrt::devices {
namespace {

using namespace pc::pic8259;

constexpr uint8_t bit(unsigned line) { return static_cast<uint8_t>(1u << line); }

}  // namespace

Pic8259Pair::Pic8259Pair(IrqLine intr) : intr_(std::move(intr)) {}

void Pic8259Pair::set_irq(unsigned irq, bool level) {
    if (irq >= kLines || irq == kCascadeIrq) return;
    if (irq < kLinesPerChip)
        master_.set_input(irq, level);
    else
        slave_.set_input(irq - kLinesPerChip, level);
    update();
}

// "Interrupt Sequence", 8086 mode: the first INTA pulse freezes the requests
// and moves the chosen one into service, the second carries the vector, from
// the slave if the chosen master line has one (ICW3).
uint8_t Pic8259Pair::acknowledge() {
    uint8_t vector;
    int line = master_.resolve();
    if (line < 0) {
        vector = master_.vector(kSpuriousLine);
    } else {
        master_.accept(static_cast<unsigned>(line));
        if (master_.cascades(static_cast<unsigned>(line))) {
            int slave_line = slave_.resolve();
            if (slave_line < 0) {
                vector = slave_.vector(kSpuriousLine);
            } else {
                slave_.accept(static_cast<unsigned>(slave_line));
                vector = slave_.vector(static_cast<unsigned>(slave_line));
            }
            // A slave that still asserts INT after this acknowledge (its next
            // request, in AEOI mode) is a new request on IR2, not the one just taken.
            master_.set_input(kCascadeIrq, false);
        } else {
            vector = master_.vector(static_cast<unsigned>(line));
        }
    }
    update();
    return vector;
}

Pic8259Pair::Chip* Pic8259Pair::chip(uint16_t port) {
    if (port >= kMasterBase && port < kMasterBase + kPortsPerChip) return &master_;
    if (port >= kSlaveBase && port < kSlaveBase + kPortsPerChip) return &slave_;
    return nullptr;  // a wide access that ran past the chip
}

uint8_t Pic8259Pair::read8(uint16_t port) {
    Chip* c = chip(port);
    if (!c) return 0xff;
    uint8_t value = c->read(port & 1);
    update();  // a poll is an acknowledge
    return value;
}

void Pic8259Pair::write8(uint16_t port, uint8_t value) {
    Chip* c = chip(port);
    if (!c) return;
    c->write(port & 1, value);
    update();
}

void Pic8259Pair::update() {
    master_.set_input(kCascadeIrq, slave_.interrupt());
    intr_.set(master_.interrupt());
}

Pic8259Pair::State Pic8259Pair::save() const { return State{master_.save(), slave_.save()}; }

// The master's IR2 follows the slave's INT after every access (update()), so
// a snapshot that says otherwise is corrected here, not by a request the next
// access would make of the difference.
void Pic8259Pair::restore(const State& state) {
    slave_.restore(state.slave);
    State::Chip master = state.master;
    uint8_t cascade = bit(kCascadeIrq);
    master.input = static_cast<uint8_t>(slave_.interrupt() ? master.input | cascade : master.input & ~cascade);
    master_.restore(master);
    intr_.restore(master_.interrupt());
}

Pic8259Pair::State::Chip Pic8259Pair::Chip::save() const {
    State::Chip s{};
    s.input = input_;
    s.irr = irr_;
    s.isr = isr_;
    s.imr = imr_;
    s.icw1 = icw1_;
    s.icw2 = icw2_;
    s.icw3 = icw3_;
    s.icw4 = icw4_;
    s.next_icw = static_cast<uint8_t>(next_icw_);
    s.initialised = initialised_;
    s.lowest = static_cast<uint8_t>(lowest_);
    s.read_isr = read_isr_;
    s.poll = poll_;
    s.special_mask = special_mask_;
    s.rotate_on_aeoi = rotate_on_aeoi_;
    return s;
}

void Pic8259Pair::Chip::restore(const State::Chip& s) {
    input_ = s.input;
    irr_ = s.irr;
    isr_ = s.isr;
    imr_ = s.imr;
    icw1_ = s.icw1;
    icw2_ = s.icw2;
    icw3_ = s.icw3;
    icw4_ = s.icw4;
    next_icw_ = s.next_icw == 2 || s.next_icw == 3 || s.next_icw == 4 ? s.next_icw : 0;
    initialised_ = s.initialised && next_icw_ == 0;
    lowest_ = s.lowest % kLinesPerChip;
    read_isr_ = s.read_isr;
    poll_ = s.poll;
    special_mask_ = s.special_mask;
    rotate_on_aeoi_ = s.rotate_on_aeoi;
}

// An edge sets the request; nothing but the acknowledge clears it (see the header).
void Pic8259Pair::Chip::set_input(unsigned line, bool level) {
    uint8_t b = bit(line);
    if (level && !(input_ & b)) irr_ |= b;
    input_ = level ? input_ | b : input_ & ~b;
}

uint8_t Pic8259Pair::Chip::requests() const { return Icw1::kLevelTriggered.test(icw1_) ? input_ : irr_; }

uint8_t Pic8259Pair::Chip::cascade_lines() const { return master_ && !Icw1::kSingle.test(icw1_) ? icw3_ : 0; }

bool Pic8259Pair::Chip::cascades(unsigned line) const { return (cascade_lines() & bit(line)) != 0; }

uint8_t Pic8259Pair::Chip::vector(unsigned line) const {
    return static_cast<uint8_t>((icw2_ & Icw2::kVectorBase.mask()) | kVectorLine.of(line));
}

// "Fully Nested Mode": the highest-priority unmasked request, unless a line of
// the same or higher priority is in service. In special mask mode a masked
// line's in-service bit holds nothing back ("Special Mask Mode"); in special
// fully nested mode a slave's line does not hold back the slave's own further
// requests, which its own priority logic has already ranked ("Special Fully
// Nested Mode").
int Pic8259Pair::Chip::resolve() const {
    uint8_t pending = requests() & ~imr_;
    if (!pending) return -1;
    uint8_t blocking = isr_;
    if (special_mask_) blocking &= ~imr_;
    if (Icw4::kSpecialFullyNested.test(icw4_)) blocking &= ~cascade_lines();
    for (unsigned p = 0; p < kLinesPerChip; ++p) {
        unsigned line = line_at(p);
        if (blocking & bit(line)) return -1;
        if (pending & bit(line)) return static_cast<int>(line);
    }
    return -1;
}

int Pic8259Pair::Chip::highest_in_service() const {
    for (unsigned p = 0; p < kLinesPerChip; ++p)
        if (isr_ & bit(line_at(p))) return static_cast<int>(line_at(p));
    return -1;
}

// "Automatic End of Interrupt Mode": the EOI comes at the end of the
// acknowledge, so the in-service bit is never seen set; with rotation on, the
// line then takes the lowest priority.
void Pic8259Pair::Chip::accept(unsigned line) {
    irr_ &= ~bit(line);
    if (!Icw4::kAutoEoi.test(icw4_))
        isr_ |= bit(line);
    else if (rotate_on_aeoi_)
        lowest_ = line;
}

uint8_t Pic8259Pair::Chip::read(bool a0) {
    if (poll_) {
        // "Poll Command": the next read is an acknowledge that returns the poll
        // word instead of a vector, whichever port it reads.
        poll_ = false;
        int line = resolve();
        if (line < 0) return 0;
        accept(static_cast<unsigned>(line));
        return static_cast<uint8_t>(PollWord::kInterrupt.of(1) | PollWord::kLevel.of(static_cast<unsigned>(line)));
    }
    if (a0) return imr_;
    return read_isr_ ? isr_ : requests();  // "Reading the 8259A Status"
}

void Pic8259Pair::Chip::write(bool a0, uint8_t value) {
    if (!a0) {
        if (Icw1::kInit.test(value))
            write_icw1(value);
        else if (Ocw3::kIsOcw3.test(value))
            write_ocw3(value);
        else
            write_ocw2(value);
        return;
    }
    // "Initialization Command Words": ICW2 always follows ICW1, ICW3 only in
    // cascade mode (SNGL = 0), ICW4 only if ICW1 asked for it (IC4 = 1).
    switch (next_icw_) {
        case 2:
            icw2_ = value;
            next_icw_ = !Icw1::kSingle.test(icw1_) ? 3 : Icw1::kNeedIcw4.test(icw1_) ? 4 : 0;
            break;
        case 3:
            icw3_ = value;
            next_icw_ = Icw1::kNeedIcw4.test(icw1_) ? 4 : 0;
            break;
        case 4:
            icw4_ = value;
            next_icw_ = 0;
            break;
        default:
            imr_ = value;  // OCW1
            return;
    }
    initialised_ = next_icw_ == 0;
}

// "Initialization Command Words", what ICW1 does at once: the edge sense
// circuit is reset (a request needs a new rising edge), the mask cleared, IR7
// given the lowest priority, special mask mode cleared, IRR selected for
// reading, and without IC4 every ICW4 function cleared. As in QEMU's model the
// in-service bits go too: a driver that starts over sends no EOI for them.
void Pic8259Pair::Chip::write_icw1(uint8_t value) {
    icw1_ = value;
    if (!Icw1::kNeedIcw4.test(value)) icw4_ = 0;
    irr_ = isr_ = imr_ = 0;
    lowest_ = kLinesPerChip - 1;
    special_mask_ = read_isr_ = poll_ = rotate_on_aeoi_ = false;
    next_icw_ = 2;
    initialised_ = false;  // INT stays low until the vector base is known
}

// "Operation Command Words", OCW2: the EOI and rotation commands.
void Pic8259Pair::Chip::write_ocw2(uint8_t value) {
    unsigned level = Ocw2::kLevel.get(value);
    int line;
    switch (Ocw2::kCommand.get(value)) {
        case Ocw2::kNonSpecificEoi:
            if ((line = highest_in_service()) >= 0) isr_ &= ~bit(static_cast<unsigned>(line));
            break;
        case Ocw2::kSpecificEoi:
            isr_ &= ~bit(level);
            break;
        case Ocw2::kRotateOnNonSpecificEoi:
            if ((line = highest_in_service()) >= 0) {
                isr_ &= ~bit(static_cast<unsigned>(line));
                lowest_ = static_cast<unsigned>(line);
            }
            break;
        case Ocw2::kRotateOnSpecificEoi:
            isr_ &= ~bit(level);
            lowest_ = level;
            break;
        case Ocw2::kSetPriority:
            lowest_ = level;
            break;
        case Ocw2::kRotateInAeoiSet:
            rotate_on_aeoi_ = true;
            break;
        case Ocw2::kRotateInAeoiClear:
            rotate_on_aeoi_ = false;
            break;
        case Ocw2::kNoOperation:
            break;
    }
}

// OCW3: which register A0 = 0 reads back (kept until changed), the poll
// command and special mask mode.
void Pic8259Pair::Chip::write_ocw3(uint8_t value) {
    if (Ocw3::kReadRegister.test(value)) read_isr_ = Ocw3::kReadIsr.test(value);
    if (Ocw3::kPoll.test(value)) poll_ = true;
    if (Ocw3::kEnableSpecialMask.test(value)) special_mask_ = Ocw3::kSpecialMask.test(value);
}

}  // namespace previrt::devices
