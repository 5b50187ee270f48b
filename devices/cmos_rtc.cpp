#include "devices/cmos_rtc.h"

#if __STDC_HOSTED__
#include <ctime>
#endif

#include <algorithm>
#include <utility>

#include "pc/cmos_rtc.h"

namespace previrt::devices {
namespace {

using namespace pc::cmos;

constexpr unsigned kBaseMemoryKib = 640;

// Register A after reset: the 32.768 kHz time base and 1024 Hz rate every PC BIOS sets.
constexpr uint8_t kRegisterAReset = 0x26;
constexpr uint8_t kRegisterBReset = RegisterB::kTwentyFourHour.mask();

constexpr int64_t kSecondsPerDay = 86400;

struct Civil {
    int64_t year;
    unsigned month, day;  // 1-12, 1-31
};

// Days since 1970-01-01 and the proleptic Gregorian date, both ways (Howard
// Hinnant's "chrono-Compatible Low-Level Date Algorithms"): no C library, no
// time zone, valid for any year.
Civil civil_from_days(int64_t days) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = static_cast<unsigned>(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned month = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<int64_t>(yoe) + era * 400 + (month <= 2), month, day};
}

int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    unsigned yoe = static_cast<unsigned>(year - era * 400);
    unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

unsigned days_in_month(int64_t year, unsigned month) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

// The date the chip would show after an update; a day past the month's end
// (the guest wrote 31 and then February) becomes the month's last day.
int64_t to_seconds(int64_t year, unsigned month, unsigned day, unsigned hour, unsigned minute, unsigned second) {
    day = std::min(day, days_in_month(year, month));
    return days_from_civil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 + second;
}

void set_word(std::array<uint8_t, kBytes>& ram, uint8_t index, uint64_t value) {
    uint16_t word = static_cast<uint16_t>(std::min<uint64_t>(value, 0xffff));
    ram[index] = static_cast<uint8_t>(word);
    ram[index + 1] = static_cast<uint8_t>(word >> 8);
}

}  // namespace

CmosRtc::CmosRtc(uint64_t ram_bytes, Clock clock) : clock_(std::move(clock)) {
#if __STDC_HOSTED__
    if (!clock_) clock_ = [] { return static_cast<int64_t>(std::time(nullptr)); };
#endif
    ram_[kRegisterA] = kRegisterAReset;
    ram_[kRegisterB] = kRegisterBReset;
    constexpr uint64_t kMiB = 1 << 20;
    uint64_t extended_kib = ram_bytes > kMiB ? (ram_bytes - kMiB) / 1024 : 0;
    set_word(ram_, kBaseMemory, std::min<uint64_t>(ram_bytes / 1024, kBaseMemoryKib));
    set_word(ram_, kExtendedMemory, extended_kib);
    set_word(ram_, kActualExtendedMemory, extended_kib);
    set_word(ram_, kMemoryAbove16M, ram_bytes > 16 * kMiB ? (ram_bytes - 16 * kMiB) / (64 * 1024) : 0);
}

uint8_t CmosRtc::read8(uint16_t port) {
    // The index register is write-only on the PC; QEMU, too, reads it as all ones.
    return port == kDataPort ? read_register(index_) : 0xff;
}

void CmosRtc::write8(uint16_t port, uint8_t value) {
    if (port == kIndexPort)
        index_ = kIndex.get(value);
    else if (port == kDataPort)
        write_register(index_, value);
}

CmosRtc::DateTime CmosRtc::current() const {
    if (RegisterB::kSet.test(ram_[kRegisterB])) return held_;
    int64_t t = clock_() + offset_;
    int64_t days = floor_div(t, kSecondsPerDay);
    auto second_of_day = static_cast<unsigned>(t - days * kSecondsPerDay);
    Civil date = civil_from_days(days);
    return {date.year, date.month, date.day, second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60};
}

uint8_t CmosRtc::encode(unsigned value) const {
    if (RegisterB::kBinary.test(ram_[kRegisterB])) return static_cast<uint8_t>(value);
    return static_cast<uint8_t>((value / 10 % 10) << 4 | value % 10);
}

bool CmosRtc::decode(uint8_t raw, unsigned& value) const {
    if (RegisterB::kBinary.test(ram_[kRegisterB])) {
        value = raw;
        return true;
    }
    if ((raw & 0x0f) > 9 || (raw >> 4) > 9) return false;
    value = (raw >> 4) * 10 + (raw & 0x0f);
    return true;
}

uint8_t CmosRtc::read_register(uint8_t index) {
    DateTime now = current();
    switch (index) {
        case kSeconds:
            return encode(now.second);
        case kMinutes:
            return encode(now.minute);
        case kHours:
            if (RegisterB::kTwentyFourHour.test(ram_[kRegisterB])) return encode(now.hour);
            return Hours::kPm.set(encode(now.hour % 12 == 0 ? 12 : now.hour % 12), now.hour >= 12);
        case kDayOfWeek: {
            // Table 3: Sunday is 1; 1970-01-01 was a Thursday.
            int64_t days = floor_div(to_seconds(now.year, now.month, now.day, 0, 0, 0), kSecondsPerDay);
            return encode(static_cast<unsigned>((days % 7 + 7 + 4) % 7 + 1));
        }
        case kDayOfMonth:
            return encode(now.day);
        case kMonth:
            return encode(now.month);
        case kYear:
            return encode(static_cast<unsigned>(now.year % 100));
        case kCentury:
            return encode(static_cast<unsigned>(now.year / 100));
        case kRegisterA:
            return RegisterA::kUpdateInProgress.set(ram_[kRegisterA], 0);
        case kRegisterC:
            return 0;
        case kRegisterD:
            return RegisterD::kValidRamAndTime.mask();
        default:
            return ram_[index];
    }
}

void CmosRtc::write_register(uint8_t index, uint8_t value) {
    switch (index) {
        case kSeconds:
        case kMinutes:
        case kHours:
        case kDayOfMonth:
        case kMonth:
        case kYear:
        case kCentury:
            write_time(index, value);
            break;
        case kDayOfWeek:
            break;  // follows from the date
        case kRegisterA:
            ram_[kRegisterA] = RegisterA::kUpdateInProgress.set(value, 0);
            break;
        case kRegisterB:
            write_register_b(value);
            break;
        case kRegisterC:
        case kRegisterD:
            break;  // read-only
        default:
            ram_[index] = value;
            break;
    }
}

// SET stops the clock where it is, so that the guest can write the time
// registers one by one without an update carrying into a field it has yet to
// write; clearing SET starts the clock from what was written.
void CmosRtc::write_register_b(uint8_t value) {
    bool was_set = RegisterB::kSet.test(ram_[kRegisterB]), set = RegisterB::kSet.test(value);
    if (!was_set && set) held_ = current();
    ram_[kRegisterB] = value;
    if (was_set && !set) {
        const DateTime& h = held_;
        offset_ = to_seconds(h.year, h.month, h.day, h.hour, h.minute, h.second) - clock_();
    }
}

// Replaces one field of the time; a value out of the field's range (or not
// BCD in BCD mode) is ignored.
void CmosRtc::write_time(uint8_t index, uint8_t value) {
    bool twelve_hour = index == kHours && !RegisterB::kTwentyFourHour.test(ram_[kRegisterB]);
    unsigned v;
    if (!decode(twelve_hour ? Hours::kHours12.get(value) : value, v)) return;
    DateTime t = current();
    switch (index) {
        case kSeconds:
            if (v > 59) return;
            t.second = v;
            break;
        case kMinutes:
            if (v > 59) return;
            t.minute = v;
            break;
        case kHours:
            if (twelve_hour) {
                if (v < 1 || v > 12) return;
                v = v % 12 + (Hours::kPm.test(value) ? 12 : 0);
            }
            if (v > 23) return;
            t.hour = v;
            break;
        case kDayOfMonth:
            if (v < 1 || v > 31) return;
            t.day = v;
            break;
        case kMonth:
            if (v < 1 || v > 12) return;
            t.month = v;
            break;
        case kYear:
            if (v > 99) return;
            t.year = t.year / 100 * 100 + v;
            break;
        case kCentury:
            if (v > 99) return;
            t.year = v * 100 + t.year % 100;
            break;
    }
    if (RegisterB::kSet.test(ram_[kRegisterB]))
        held_ = t;
    else
        offset_ = to_seconds(t.year, t.month, t.day, t.hour, t.minute, t.second) - clock_();
}

}  // namespace previrt::devices
