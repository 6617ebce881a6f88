// Writing values as text for people and programs: JSON string escapes, CSV quoting, and
// number forms that read back exactly (shortest round trip).
#pragma once

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

namespace pitstore::io {

// Appends s as a JSON string literal.
inline void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

inline std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

// Appends s as a CSV field (RFC 4180): quoted when it holds a comma, quote or line break, or
// when it is empty and must not read as null (`quote_empty`).
inline void AppendCsvField(std::string_view s, bool quote_empty, std::string* out) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos && !(s.empty() && quote_empty)) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// Shortest text that reads back as the same double (or float): "0.1", "1e+300", "nan", "inf".
template <typename Float>
inline void AppendFloat(Float v, std::string* out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, ec == std::errc() ? end : buf);
}

// Appends bytes as "0x" and two lowercase hex digits per byte (how bytes features read and print).
inline void AppendHex(std::string_view bytes, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  *out += "0x";
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
}

inline void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

// True when s is a JSON number (RFC 8259 grammar).
inline bool IsJsonNumber(std::string_view s) {
  size_t i = 0, n = s.size();
  auto digits = [&] {
    size_t from = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < n && s[i] == '-') ++i;
  if (i < n && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < n && s[i] == '.' && (++i, !digits())) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

}  // namespace pitstore::io
