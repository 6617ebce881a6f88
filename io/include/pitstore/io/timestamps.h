// Timestamps as people write them, for the tools: RFC 3339 / ISO 8601 with an offset
// ("2025-03-01T12:00:00Z", "2025-03-01T14:00:00.25+02:00"), normalised to UTC microseconds,
// or a plain integer of microseconds since the epoch.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "pitstore/types.h"

namespace pitstore::io {

namespace detail {
// Exactly n ASCII digits at s[at..at+n).
inline bool Digits(const std::string& s, size_t at, int n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[at + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}
// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm).
inline int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
}  // namespace detail

// The grammar (decided and tested; see tests/record_source_test.cc, Timestamps.*):
//   - an integer: microseconds since the epoch, optionally negative, any int64 ("-1500");
//   - YYYY-MM-DD(T|t| )hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm): every field exactly two digits,
//     the year four (0001 to 9999); the day must exist in its month (2025-02-30 is refused, not
//     rolled over); seconds 00 to 59 (a leap second, :60, is refused: time here is POSIX time,
//     which has none); a fraction of any length, digits past the microsecond dropped (rounded
//     down); the offset is required (local times are ambiguous), "-00:00" is UTC.
// Returns the empty string, or why `s` is not a timestamp.
inline std::string ParseTimestampWhy(const std::string& s, Timestamp* out) {
  if (s.empty()) return "empty";
  if (s.find_first_of(":T t") == std::string::npos && s.find('-', 1) == std::string::npos) {
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == s.size()) return "not a number";
    int64_t v = 0;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return "not an integer of microseconds";
      int digit = s[i] - '0';
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, digit, &v))  // built negative
        return "out of range";
    }
    if (s[0] != '-' && __builtin_mul_overflow(v, -1, &v)) return "out of range";
    *out = v;
    return "";
  }
  int y, mo, d, h, mi, sec;
  const char sep = s.size() > 10 ? s[10] : '\0';
  if (!detail::Digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !detail::Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !detail::Digits(s, 8, 2, &d) || (sep != 'T' && sep != 't' && sep != ' ') || !detail::Digits(s, 11, 2, &h) ||
      s[13] != ':' || !detail::Digits(s, 14, 2, &mi) || s[16] != ':' || !detail::Digits(s, 17, 2, &sec))
    return "not YYYY-MM-DDThh:mm:ss with two-digit fields and a four-digit year";
  if (y < 1) return "year 0000 is out of range (0001 to 9999)";
  if (mo < 1 || mo > 12) return "month " + s.substr(5, 2) + " does not exist";
  static const int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d < 1 || d > kDaysIn[mo - 1] + (mo == 2 && leap ? 1 : 0)) return s.substr(0, 7) + " has no day " + s.substr(8, 2);
  if (h > 23 || mi > 59) return "hour or minute out of range";
  if (sec == 60) return "a leap second (:60) cannot be stored: time here has no leap seconds";
  if (sec > 59) return "second out of range";
  size_t i = 19;
  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    int digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits)
      if (digits < 6) micros = micros * 10 + (s[i] - '0');
    if (digits == 0) return "no digits after the decimal point";
    for (; digits < 6; ++digits) micros *= 10;
  }
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!detail::Digits(s, i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !detail::Digits(s, i + 4, 2, &om) || oh > 23 || om > 59)
      return "the offset is not +hh:mm or -hh:mm";
    offset_s = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return "an offset (Z or +hh:mm) is required: local times are ambiguous";
  }
  if (i != s.size()) return "unexpected text after the time";
  const int64_t secs = detail::DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  *out = secs * kMicrosPerSecond + micros;
  return "";
}

// How integers are read as times: counts of a unit since the epoch. kUnstated reads
// microseconds but refuses counts outside the years 1990 to 2099: a count of seconds or
// milliseconds read as microseconds lands in January 1970, one of nanoseconds after the year
// 9999, and either would be stored, and answer not_found, without a word. The tools default to
// it; naming a unit (s, ms, us, ns) accepts any count.
enum class EpochUnit { kSeconds, kMillis, kMicros, kNanos, kUnstated };

constexpr Timestamp kPlausibleFrom = 631152000LL * kMicrosPerSecond;    // 1990-01-01T00:00:00Z
constexpr Timestamp kPlausibleUntil = 4102444800LL * kMicrosPerSecond;  // 2100-01-01T00:00:00Z

inline std::string FormatTimestamp(Timestamp t);

// The count `v` of `unit` since the epoch as microseconds (nanoseconds floored: a time lies in
// the microsecond it starts); empty, or why not (out of range; for kUnstated, outside the
// plausible years, saying which unit would put it inside them).
inline std::string EpochToMicrosWhy(int64_t v, EpochUnit unit, Timestamp* out) {
  int64_t t = v;
  switch (unit) {
    case EpochUnit::kSeconds:
      if (__builtin_mul_overflow(v, kMicrosPerSecond, &t)) return "out of range for a timestamp";
      break;
    case EpochUnit::kMillis:
      if (__builtin_mul_overflow(v, int64_t{1000}, &t)) return "out of range for a timestamp";
      break;
    case EpochUnit::kNanos:
      t = v / 1000 - (v % 1000 < 0 ? 1 : 0);
      break;
    case EpochUnit::kMicros:
      break;
    case EpochUnit::kUnstated:
      if (v < kPlausibleFrom || v >= kPlausibleUntil) {
        std::string why = "an integer time with no unit is read as microseconds, and " + std::to_string(v) +
                          " microseconds is " + FormatTimestamp(v) + ", outside the years 1990 to 2099";
        static const struct {
          const char* name;
          EpochUnit unit;
        } kOthers[] = {{"s", EpochUnit::kSeconds}, {"ms", EpochUnit::kMillis}, {"ns", EpochUnit::kNanos}};
        for (const auto& other : kOthers) {
          Timestamp as;
          if (EpochToMicrosWhy(v, other.unit, &as).empty() && as >= kPlausibleFrom && as < kPlausibleUntil)
            return why + "; in " + other.name + " it is " + FormatTimestamp(as) + " (name the unit: " + other.name +
                   ")";
        }
        return why + " (name the unit to store it anyway: us)";
      }
      break;
  }
  if (t == kMinTimestamp || t == kMaxTimestamp) return "out of range for a timestamp";
  *out = t;
  return "";
}

// A time zone for times written without an offset (naive times, which Feast reads as UTC):
// "UTC" or "Z", or a fixed offset "+hh:mm" / "-hh:mm". Sets *suffix to the offset to append
// ("Z", "+02:00"); empty, or why `zone` is not one (named zones with daylight-saving rules are
// not: their offset changes with the date).
inline std::string NaiveZoneSuffix(const std::string& zone, std::string* suffix) {
  if (zone == "UTC" || zone == "utc" || zone == "Z" || zone == "z" || zone == "+00:00" || zone == "-00:00") {
    suffix->assign(1, 'Z');  // (not = "Z": GCC 12 warns falsely of overlapping copies once inlined)
    return "";
  }
  int h, m;
  if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && detail::Digits(zone, 1, 2, &h) && zone[3] == ':' &&
      detail::Digits(zone, 4, 2, &m) && h <= 23 && m <= 59) {
    *suffix = zone;
    return "";
  }
  return "time zone '" + zone +
         "': UTC or a fixed offset like +02:00 (a named zone's offset changes with daylight saving: convert such "
         "times before ingest, or use Python's timezone=, which reads the tz database)";
}

// The offset east of UTC, in microseconds, of a suffix NaiveZoneSuffix made ("Z", "+hh:mm").
inline int64_t NaiveSuffixOffsetMicros(const std::string& suffix) {
  if (suffix.size() != 6) return 0;
  const int64_t minutes =
      ((suffix[1] - '0') * 10 + (suffix[2] - '0')) * 60 + (suffix[4] - '0') * 10 + (suffix[5] - '0');
  return (suffix[0] == '-' ? -minutes : minutes) * 60 * kMicrosPerSecond;
}

// The offset east of UTC, in microseconds, of a zone NaiveZoneSuffix accepts.
inline std::string NaiveZoneOffsetWhy(const std::string& zone, int64_t* offset_us) {
  std::string suffix;
  std::string why = NaiveZoneSuffix(zone, &suffix);
  *offset_us = why.empty() ? NaiveSuffixOffsetMicros(suffix) : 0;
  return why;
}

// The command line's form of a time: ParseTimestampWhy's, where an integer may end in a unit
// (1795000000s, 1795000000000ms, ...us, ...ns) and one without a unit is kUnstated, and a date
// alone (2025-03-01) is its midnight UTC.
inline std::string ParseTimeArgumentWhy(const std::string& s, Timestamp* out);

// False when `s` is neither form (or out of range).
inline bool ParseTimestamp(const std::string& s, Timestamp* out) { return ParseTimestampWhy(s, out).empty(); }

// RFC 3339 in UTC, with microseconds when they are not zero: "2025-03-01T12:00:00Z". A time
// outside the years 0001 to 9999, which RFC 3339 cannot write, is printed as its integer of
// microseconds, so that everything printed parses back to the same value.
inline std::string FormatTimestamp(Timestamp t) {
  if (t == kMaxTimestamp) return "+inf";
  if (t == kMinTimestamp) return "-inf";
  constexpr int64_t kYear1 = -62135596800LL * kMicrosPerSecond;      // 0001-01-01T00:00:00Z
  constexpr int64_t kYear10000 = 253402300800LL * kMicrosPerSecond;  // 10000-01-01T00:00:00Z
  if (t < kYear1 || t >= kYear10000) return std::to_string(t);
  int64_t secs = t / kMicrosPerSecond, micros = t % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (H. Hinnant)
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld", static_cast<long long>(y),
                        static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  if (micros) n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", static_cast<long long>(micros));
  std::snprintf(buf + n, sizeof buf - n, "Z");
  return buf;
}

}  // namespace pitstore::io

namespace pitstore::io {

inline std::string ParseTimeArgumentWhy(const std::string& s, Timestamp* out) {
  static const struct {
    const char* suffix;
    EpochUnit unit;
  } kUnits[] = {
      {"ms", EpochUnit::kMillis}, {"us", EpochUnit::kMicros}, {"ns", EpochUnit::kNanos}, {"s", EpochUnit::kSeconds}};
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') return ParseTimestampWhy(s + "T00:00:00Z", out);
  size_t digits = s.find_first_not_of("-0123456789");
  if (digits == std::string::npos) digits = s.size();
  if (digits > 0 && s.find('-', 1) == std::string::npos && s.find_first_of("0123456789") != std::string::npos) {
    EpochUnit unit = EpochUnit::kUnstated;
    if (digits < s.size()) {
      const std::string rest = s.substr(digits);
      bool named = false;
      for (const auto& u : kUnits)
        if (rest == u.suffix) {
          unit = u.unit;
          named = true;
        }
      if (!named) return ParseTimestampWhy(s, out);
    }
    Timestamp count;
    std::string why = ParseTimestampWhy(s.substr(0, digits), &count);
    if (!why.empty()) return why;
    return EpochToMicrosWhy(count, unit, out);
  }
  return ParseTimestampWhy(s, out);
}

}  // namespace pitstore::io
