// Timestamps as people write them, for the tools: RFC 3339 / ISO 8601 with an offset
// ("2025-03-01T12:00:00Z", "2025-03-01T14:00:00.25+02:00"), normalised to UTC microseconds,
// or a plain integer of microseconds since the epoch.
#pragma once

#include <cstdio>
#include <ctime>
#include <string>

#include "pitstore/types.h"

namespace pitstore::io {

// False when `s` is neither form (or out of range).
inline bool ParseTimestamp(const std::string& s, Timestamp* out) {
  if (s.empty()) return false;
  if (s.find('-', 1) == std::string::npos && s.find(':') == std::string::npos) {  // integer micros
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (*end != '\0') return false;
    *out = v;
    return true;
  }
  int y, mo, d, h, mi, sec, consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6 &&
      std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6)
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  // A day the month does not have (2025-02-30, 2023-02-29, 2025-04-31) is refused, not rolled
  // over into the next month as timegm would.
  static const int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDaysIn[mo - 1] + (mo == 2 && leap ? 1 : 0)) return false;
  size_t i = static_cast<size_t>(consumed);
  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    int digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits)
      if (digits < 6) micros = micros * 10 + (s[i] - '0');
    if (digits == 0) return false;
    for (; digits < 6; ++digits) micros *= 10;
  }
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59) return false;
    offset_s = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return false;  // an offset is required: local times are ambiguous
  }
  if (i != s.size()) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  *out = (static_cast<Timestamp>(timegm(&tm)) - offset_s) * kMicrosPerSecond + micros;
  return true;
}

// RFC 3339 in UTC, with microseconds when they are not zero: "2025-03-01T12:00:00Z".
inline std::string FormatTimestamp(Timestamp t) {
  if (t == kMaxTimestamp) return "+inf";
  if (t == kMinTimestamp) return "-inf";
  int64_t secs = t / kMicrosPerSecond, micros = t % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (micros) n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", static_cast<long long>(micros));
  std::snprintf(buf + n, sizeof buf - n, "Z");
  return buf;
}

}  // namespace pitstore::io
