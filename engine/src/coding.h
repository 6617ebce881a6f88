// Byte-level encodings shared by every on-disk structure: little-endian fixed-width integers,
// LEB128 varints, zigzag. The Reader never reads past its end; it records failure instead.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pitstore {

inline void PutFixed16(std::string* dst, uint16_t v) { dst->append(reinterpret_cast<char*>(&v), 2); }
inline void PutFixed32(std::string* dst, uint32_t v) { dst->append(reinterpret_cast<char*>(&v), 4); }
inline void PutFixed64(std::string* dst, uint64_t v) { dst->append(reinterpret_cast<char*>(&v), 8); }
inline uint16_t LoadFixed16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t LoadFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t LoadFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pitstore's formats are little-endian");

inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}
// Writes v as a varint at p (room for 10 bytes); returns the end. For encoders that size
// their output once and write through a pointer, not a std::string append per value.
inline char* EncodeVarint64(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
// Appends at most `bound` bytes to dst through write(char* at) -> char* end: sized once,
// written through a pointer, then cut to what was written.
template <typename Write>
void AppendBounded(std::string* dst, size_t bound, Write&& write) {
  const size_t at = dst->size();
  dst->resize(at + bound);
  char* end = write(dst->data() + at);
  dst->resize(static_cast<size_t>(end - dst->data()));
}
inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }
inline void PutSigned(std::string* dst, int64_t v) { PutVarint64(dst, ZigZag(v)); }
inline void PutBytes(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s.data(), s.size());
}

// Sequential reader over untrusted bytes. After any failed read, ok() is false and every
// further read returns zero values; callers check ok() once at the end of a record.
class ByteReader {
 public:
  ByteReader(const char* p, size_t n) : p_(p), end_(p + n) {}
  explicit ByteReader(std::string_view s) : ByteReader(s.data(), s.size()) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const char* position() const { return p_; }

  // Inlined always: decoders call it once per value in their hot loops.
  __attribute__((always_inline)) uint64_t Varint() {
    // Fast path: a varint of at most 8 bytes with 8 readable, its 7-bit groups joined without a
    // branch per byte (delta-coded timestamps are 5-7 bytes; a loop mispredicts their length).
    if (end_ - p_ >= 8) {
      const uint64_t word = LoadFixed64(p_);
      const uint64_t stops = ~word & 0x8080808080808080ULL;
      if (stops != 0) {
        const int bytes = (__builtin_ctzll(stops) >> 3) + 1;
        const uint64_t x = bytes == 8 ? word : word & ((uint64_t{1} << (8 * bytes)) - 1);
        p_ += bytes;
        return JoinGroups(x);
      }
    }
    uint64_t result = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (p_ >= end_) return Fail();
      uint8_t byte = static_cast<uint8_t>(*p_++);
      if (shift == 63 && byte > 1) return Fail();  // a tenth byte holds bit 63 alone: more is damage
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
    }
    return Fail();
  }
  __attribute__((always_inline)) int64_t Signed() { return UnZigZag(Varint()); }
  // count zigzag varints as running sums: out[i] = *sum += delta i. Each 8-byte load yields
  // every varint that ends in it (a short one costs a bit scan, not a load after the last
  // one's length is known); longer ones go one at a time. False when the reader fails.
  bool DeltaVarints(size_t count, int64_t* out, uint64_t* sum) {
    uint64_t s = *sum;
    for (size_t i = 0; i < count;) {
      if (end_ - p_ >= 8) {
        const uint64_t word = LoadFixed64(p_);
        uint64_t stops = ~word & 0x8080808080808080ULL;
        if (stops == 0x8080808080808080ULL && count - i >= 8) {  // eight one-byte varints
          for (unsigned k = 0; k < 8; ++k) {
            s += static_cast<uint64_t>(UnZigZag((word >> (8 * k)) & 0x7f));
            out[i + k] = static_cast<int64_t>(s);
          }
          i += 8;
          p_ += 8;
          continue;
        }
        // Four varints or more end in the word (short ones: small ints): the first four taken
        // without a branch on where each ends, so the loop's exit is not mispredicted a word.
        const uint64_t stops1 = stops & (stops - 1), stops2 = stops1 & (stops1 - 1), stops3 = stops2 & (stops2 - 1);
        if (stops3 != 0 && count - i >= 4) {
          const unsigned end0 = (static_cast<unsigned>(__builtin_ctzll(stops)) >> 3) + 1;
          const unsigned end1 = (static_cast<unsigned>(__builtin_ctzll(stops1)) >> 3) + 1;
          const unsigned end2 = (static_cast<unsigned>(__builtin_ctzll(stops2)) >> 3) + 1;
          const unsigned end3 = (static_cast<unsigned>(__builtin_ctzll(stops3)) >> 3) + 1;
          // Bytes [from, to) of the word: at most five, as four varints end in eight bytes.
          auto field = [word](unsigned from, unsigned to) {
            return (word >> (8 * from)) & ((uint64_t{1} << (8 * (to - from))) - 1);
          };
          s += static_cast<uint64_t>(UnZigZag(JoinGroups(field(0, end0))));
          out[i] = static_cast<int64_t>(s);
          s += static_cast<uint64_t>(UnZigZag(JoinGroups(field(end0, end1))));
          out[i + 1] = static_cast<int64_t>(s);
          s += static_cast<uint64_t>(UnZigZag(JoinGroups(field(end1, end2))));
          out[i + 2] = static_cast<int64_t>(s);
          s += static_cast<uint64_t>(UnZigZag(JoinGroups(field(end2, end3))));
          out[i + 3] = static_cast<int64_t>(s);
          i += 4;
          p_ += end3;
          continue;
        }
        if (stops != 0) {
          unsigned start = 0;  // the first byte of the next varint in `word`
          do {
            const unsigned end = (static_cast<unsigned>(__builtin_ctzll(stops)) >> 3) + 1;
            uint64_t x = word >> (8 * start);
            if (end - start < 8) x &= (uint64_t{1} << (8 * (end - start))) - 1;
            s += static_cast<uint64_t>(UnZigZag(JoinGroups(x)));
            out[i++] = static_cast<int64_t>(s);
            start = end;
            stops &= stops - 1;
          } while (stops != 0 && i < count);
          p_ += start;
          continue;
        }
      }
      s += static_cast<uint64_t>(Signed());
      if (!ok_) return false;
      out[i++] = static_cast<int64_t>(s);
    }
    *sum = s;
    return ok_;
  }
  uint8_t U8() { return remaining() >= 1 ? static_cast<uint8_t>(*p_++) : static_cast<uint8_t>(Fail()); }
  uint32_t U32() {
    if (remaining() < 4) return static_cast<uint32_t>(Fail());
    uint32_t v = LoadFixed32(p_);
    p_ += 4;
    return v;
  }
  uint64_t U64() {
    if (remaining() < 8) return Fail();
    uint64_t v = LoadFixed64(p_);
    p_ += 8;
    return v;
  }
  // A view of the next n bytes (empty and failed if fewer remain).
  std::string_view Take(size_t n) {
    if (remaining() < n) {
      Fail();
      return {};
    }
    std::string_view v(p_, n);
    p_ += n;
    return v;
  }
  std::string_view LengthPrefixed() {
    uint64_t n = Varint();
    if (!ok_ || n > remaining()) {
      Fail();
      return {};
    }
    return Take(static_cast<size_t>(n));
  }

 private:
  // The value of a varint of at most 8 bytes, its bytes (and nothing above them) in x: pairs
  // of 7-bit groups joined into 14 bits, pairs of those into 28, then 56, three steps of a few
  // operations, not eight shifts and masks.
  __attribute__((always_inline)) static uint64_t JoinGroups(uint64_t x) {
    uint64_t v = x & 0x7f7f7f7f7f7f7f7fULL;
    v = ((v & 0x7f007f007f007f00ULL) >> 1) | (v & 0x007f007f007f007fULL);
    v = ((v & 0x3fff00003fff0000ULL) >> 2) | (v & 0x00003fff00003fffULL);
    return ((v & 0x0fffffff00000000ULL) >> 4) | (v & 0x000000000fffffffULL);
  }
  uint64_t Fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace pitstore
