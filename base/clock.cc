#include "base/clock.h"

#include <time.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <thread>

namespace certkeeper {

namespace {

class SystemClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
};

bool ReadDigits(std::string_view text, size_t& pos, int count, int& out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (int i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  out = value;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || std::toupper(static_cast<unsigned char>(text[pos])) != c) {
    return false;
  }
  ++pos;
  return true;
}

}  // namespace

Clock* RealClock() {
  static Clock* clock = new SystemClock();
  return clock;
}

TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void FakeClock::Advance(Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

void FakeClock::Set(TimePoint t) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = t;
}

std::string FormatRfc3339(TimePoint t) {
  std::string out;
  AppendRfc3339(out, t);
  return out;
}

void AppendRfc3339(std::string& out, TimePoint t) {
  time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(t));
  // Years 0..9999 without strftime (a `list` of 100,000 certificates formats
  // half a million of them); the same text as the general path below.
  using namespace std::chrono;
  const sys_seconds s{seconds(secs)};
  const sys_days day = floor<days>(s);
  const year_month_day ymd{day};
  if (int y = int(ymd.year()); y >= 0 && y <= 9999) {
    const hh_mm_ss<seconds> hms{s - day};
    char buf[20];
    auto put = [&buf](int at, int value, int width) {
      for (int i = width - 1; i >= 0; --i, value /= 10) buf[at + i] = char('0' + value % 10);
    };
    put(0, y, 4);
    buf[4] = '-';
    put(5, int(unsigned(ymd.month())), 2);
    buf[7] = '-';
    put(8, int(unsigned(ymd.day())), 2);
    buf[10] = 'T';
    put(11, int(hms.hours().count()), 2);
    buf[13] = ':';
    put(14, int(hms.minutes().count()), 2);
    buf[16] = ':';
    put(17, int(hms.seconds().count()), 2);
    buf[19] = 'Z';
    out.append(buf, sizeof buf);  // one allocation at most, none when reserved
    return;
  }
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[32];
  const size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  out.append(buf, n);
}

Result<TimePoint> ParseRfc3339(std::string_view text) {
  auto bad = [&]() {
    return Status(ErrorCode::kInvalidArgument,
                  "not an RFC 3339 timestamp: \"" + std::string(text.substr(0, 64)) + "\"");
  };
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, pos, 4, year) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, month) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, day) || !Expect(text, pos, 'T') ||
      !ReadDigits(text, pos, 2, hour) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, minute) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return bad();
  }
  if (year < kMinTimePointYear || year > kMaxTimePointYear) {
    return Status(ErrorCode::kInvalidArgument,
                  "RFC 3339 timestamp \"" + std::string(text.substr(0, 64)) +
                      "\" is outside the years " + std::to_string(kMinTimePointYear) + "-" +
                      std::to_string(kMaxTimePointYear) + " that certkeeper can represent");
  }
  std::chrono::nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (scale > 0) {
        fraction += std::chrono::nanoseconds((text[pos] - '0') * scale);
        scale /= 10;
      }
      ++pos;
    }
    if (pos == start) return bad();
  }
  int offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!ReadDigits(text, pos, 2, oh) || !Expect(text, pos, ':') ||
        !ReadDigits(text, pos, 2, om)) {
      return bad();
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  struct tm tm_utc = {};
  tm_utc.tm_year = year - 1900;
  tm_utc.tm_mon = month - 1;
  tm_utc.tm_mday = day;
  tm_utc.tm_hour = hour;
  tm_utc.tm_min = minute;
  tm_utc.tm_sec = second > 59 ? 59 : second;
  time_t secs = timegm(&tm_utc);
  TimePoint t = std::chrono::system_clock::from_time_t(secs) - std::chrono::seconds(offset_seconds);
  return t + std::chrono::duration_cast<Duration>(fraction);
}

int64_t ToUnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint FromUnixSeconds(int64_t s) { return TimePoint(std::chrono::seconds(s)); }

Result<Duration> ParseDuration(std::string_view text) {
  auto bad = [&]() {
    return Status(ErrorCode::kInvalidArgument,
                  "not a duration: \"" + std::string(text.substr(0, 64)) + "\"")
        .Hint("write a number followed by s, m, h or d, e.g. \"120s\" or \"2m\"");
  };
  if (text.empty()) return bad();
  size_t pos = 0;
  int64_t value = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    if (value > 100000000) return bad();
    value = value * 10 + (text[pos] - '0');
    ++pos;
  }
  if (pos == 0) return bad();
  std::string_view unit = text.substr(pos);
  int64_t seconds;
  if (unit.empty() || unit == "s") {
    seconds = value;
  } else if (unit == "m") {
    seconds = value * 60;
  } else if (unit == "h") {
    seconds = value * 3600;
  } else if (unit == "d") {
    seconds = value * 86400;
  } else if (unit == "ms") {
    return std::chrono::duration_cast<Duration>(std::chrono::milliseconds(value));
  } else {
    return bad();
  }
  // Bounded before the conversion: Duration counts nanoseconds in 64 bits.
  if (seconds > std::chrono::duration_cast<std::chrono::seconds>(kMaxDuration).count()) {
    return Status(ErrorCode::kInvalidArgument,
                  "duration \"" + std::string(text.substr(0, 64)) + "\" is longer than " +
                      "100 years");
  }
  return std::chrono::duration_cast<Duration>(std::chrono::seconds(seconds));
}

std::string FormatDurationHuman(Duration d) {
  std::string out;
  AppendDurationHuman(out, d);
  return out;
}

void AppendDurationHuman(std::string& out, Duration d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) {
    out += '-';
    s = -s;
  }
  // "3d 4h", "3d", "2h 5m", "7m", "42s" (std::to_chars: called per certificate).
  auto number = [&out](int64_t v, char unit) {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out.append(buf, static_cast<size_t>(end - buf));
    out += unit;
  };
  if (s >= 86400) {
    number(s / 86400, 'd');
    if (int64_t h = (s % 86400) / 3600) {
      out += ' ';
      number(h, 'h');
    }
  } else if (s >= 3600) {
    number(s / 3600, 'h');
    out += ' ';
    number((s % 3600) / 60, 'm');
  } else if (s >= 60) {
    number(s / 60, 'm');
  } else {
    number(s, 's');
  }
}

}  // namespace certkeeper
