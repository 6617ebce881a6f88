#include "encodings.h"

#include <cstring>

#include "metadata.h"

namespace pitstore::io::parquet {
namespace {

Status Short(const char* what) { return Status::Corruption(std::string(what) + ": the page ends early"); }

bool ReadUleb(const uint8_t* data, size_t size, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= size) return false;
    uint8_t b = data[(*pos)++];
    *v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

int64_t UnZigZag(uint64_t z) { return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1)); }

// Reads `count` values of `width` bits packed LSB first from data (which holds enough bytes).
template <typename T>
void Unpack(const uint8_t* data, int width, size_t count, T* out) {
  if (width == 0) {
    for (size_t i = 0; i < count; ++i) out[i] = 0;
    return;
  }
  const uint64_t mask = width == 64 ? ~0ULL : (1ULL << width) - 1;
  size_t bit = 0;
  for (size_t i = 0; i < count; ++i, bit += width) {
    size_t byte = bit >> 3;
    int shift = static_cast<int>(bit & 7);
    // Gather up to 9 bytes: width <= 64 plus a shift of up to 7.
    uint64_t lo = 0;
    size_t need = (shift + width + 7) / 8;
    std::memcpy(&lo, data + byte, need < 8 ? need : 8);
    uint64_t v = lo >> shift;
    if (shift + width > 64) v |= static_cast<uint64_t>(data[byte + 8]) << (64 - shift);
    out[i] = static_cast<T>(v & mask);
  }
}

}  // namespace

int BitWidth(uint32_t max_value) {
  int w = 0;
  while (max_value) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

Status DecodeHybrid(const uint8_t* data, size_t size, int bit_width, size_t count, std::vector<uint32_t>* out) {
  if (bit_width < 0 || bit_width > 32) return Status::Corruption("RLE: bit width " + std::to_string(bit_width));
  size_t pos = 0, start = out->size(), end = start + count;
  out->resize(end);
  size_t n = start;
  const size_t value_bytes = (bit_width + 7) / 8;
  while (n < end) {
    uint64_t header;
    if (!ReadUleb(data, size, &pos, &header)) return Short("RLE run header");
    if (header & 1) {  // bit-packed: (header >> 1) groups of 8
      uint64_t groups = std::min<uint64_t>(header >> 1, uint64_t{1} << 40);
      uint64_t values = groups * 8;
      uint64_t bytes = groups * bit_width;
      if (bytes > size - pos) {
        // Writers may end the last run early; use the values whose bits are all there.
        bytes = size - pos;
        values = bit_width ? bytes * 8 / bit_width : values;
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(values, end - n));
      if (take == 0 && values == 0) return Short("bit-packed run");
      // Unpack reads whole bytes; pad a copy when the last value ends inside the input's last byte.
      size_t need = (take * bit_width + 7) / 8;
      if (need + 8 <= size - pos) {
        Unpack(data + pos, bit_width, take, out->data() + n);
      } else {
        std::string tmp(need + 9, '\0');
        std::memcpy(tmp.data(), data + pos, std::min<size_t>(need, size - pos));
        Unpack(reinterpret_cast<const uint8_t*>(tmp.data()), bit_width, take, out->data() + n);
      }
      n += take;
      pos += bytes;
    } else {  // RLE: one value repeated (header >> 1) times
      uint64_t run = header >> 1;
      if (value_bytes > size - pos) return Short("RLE run");
      uint32_t v = 0;
      for (size_t b = 0; b < value_bytes; ++b) v |= static_cast<uint32_t>(data[pos + b]) << (8 * b);
      pos += value_bytes;
      if (run == 0) return Status::Corruption("RLE: an empty run");
      if (bit_width < 32 && (v >> bit_width)) return Status::Corruption("RLE: a value wider than the bit width");
      size_t take = static_cast<size_t>(std::min<uint64_t>(run, end - n));
      std::fill(out->begin() + n, out->begin() + n + take, v);
      n += take;
    }
  }
  return Status::OK();
}

Status DecodePlain(const uint8_t* data, size_t size, const ValueKind& kind, size_t count, Values* out,
                   size_t* consumed) {
  auto need = [&](uint64_t width) { return width && count > size / width ? false : true; };
  switch (kind.type) {
    case kBoolean: {
      if ((count + 7) / 8 > size) return Short("PLAIN booleans");
      for (size_t i = 0; i < count; ++i) out->ints.push_back((data[i >> 3] >> (i & 7)) & 1);
      *consumed = (count + 7) / 8;
      return Status::OK();
    }
    case kInt32: {
      if (!need(4)) return Short("PLAIN INT32");
      for (size_t i = 0; i < count; ++i) {
        int32_t v;
        std::memcpy(&v, data + 4 * i, 4);
        out->ints.push_back(kind.unsigned_int ? static_cast<int64_t>(static_cast<uint32_t>(v)) : v);
      }
      *consumed = 4 * count;
      return Status::OK();
    }
    case kInt64: {
      if (!need(8)) return Short("PLAIN INT64");
      size_t at = out->ints.size();
      out->ints.resize(at + count);
      if (count) std::memcpy(out->ints.data() + at, data, 8 * count);
      *consumed = 8 * count;
      return Status::OK();
    }
    case kInt96: {  // nanoseconds of the day, then the Julian day (Impala and Spark timestamps)
      if (!need(12)) return Short("PLAIN INT96");
      for (size_t i = 0; i < count; ++i) {
        int64_t nanos;
        int32_t julian;
        std::memcpy(&nanos, data + 12 * i, 8);
        std::memcpy(&julian, data + 12 * i + 8, 4);
        constexpr int64_t kUnixEpochJulian = 2440588;
        out->ints.push_back((julian - kUnixEpochJulian) * 86'400'000'000LL + nanos / 1000);
      }
      *consumed = 12 * count;
      return Status::OK();
    }
    case kFloat: {
      if (!need(4)) return Short("PLAIN FLOAT");
      for (size_t i = 0; i < count; ++i) {
        float v;
        std::memcpy(&v, data + 4 * i, 4);
        out->doubles.push_back(v);
      }
      *consumed = 4 * count;
      return Status::OK();
    }
    case kDouble: {
      if (!need(8)) return Short("PLAIN DOUBLE");
      size_t at = out->doubles.size();
      out->doubles.resize(at + count);
      if (count) std::memcpy(out->doubles.data() + at, data, 8 * count);
      *consumed = 8 * count;
      return Status::OK();
    }
    case kByteArray: {
      size_t pos = 0;
      for (size_t i = 0; i < count; ++i) {
        if (size - pos < 4) return Short("PLAIN BYTE_ARRAY");
        uint32_t len;
        std::memcpy(&len, data + pos, 4);
        pos += 4;
        if (len > size - pos) return Short("PLAIN BYTE_ARRAY");
        out->strings.emplace_back(reinterpret_cast<const char*>(data + pos), len);
        pos += len;
      }
      *consumed = pos;
      return Status::OK();
    }
    case kFixedLenByteArray: {
      size_t w = static_cast<size_t>(kind.type_length);
      if (kind.type_length <= 0) return Status::Corruption("FIXED_LEN_BYTE_ARRAY without a length");
      if (!need(w)) return Short("PLAIN FIXED_LEN_BYTE_ARRAY");
      for (size_t i = 0; i < count; ++i) out->strings.emplace_back(reinterpret_cast<const char*>(data + w * i), w);
      *consumed = w * count;
      return Status::OK();
    }
  }
  return Status::Corruption("physical type " + std::to_string(kind.type));
}

Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t count, std::vector<int64_t>* out,
                               size_t* consumed) {
  size_t pos = 0;
  uint64_t block_size, miniblocks, total, first;
  if (!ReadUleb(data, size, &pos, &block_size) || !ReadUleb(data, size, &pos, &miniblocks) ||
      !ReadUleb(data, size, &pos, &total) || !ReadUleb(data, size, &pos, &first))
    return Short("DELTA_BINARY_PACKED header");
  if (block_size == 0 || block_size % 128 || miniblocks == 0 || block_size % miniblocks ||
      (block_size / miniblocks) % 32 || block_size > (1 << 20))
    return Status::Corruption("DELTA_BINARY_PACKED: block of " + std::to_string(block_size) + " values in " +
                              std::to_string(miniblocks) + " miniblocks");
  if (total < count) return Short("DELTA_BINARY_PACKED values");
  const uint64_t per_mini = block_size / miniblocks;
  uint64_t value = static_cast<uint64_t>(UnZigZag(first));
  size_t got = 0;
  if (count > 0) {
    out->push_back(static_cast<int64_t>(value));
    got = 1;
  }
  std::vector<uint64_t> deltas(per_mini + 1);
  // Values past `count` (up to `total`) are still read so *consumed ends after the stream.
  size_t remaining = total ? total - 1 : 0;
  while (remaining > 0) {
    uint64_t zmin;
    if (!ReadUleb(data, size, &pos, &zmin)) return Short("DELTA_BINARY_PACKED block");
    uint64_t min_delta = static_cast<uint64_t>(UnZigZag(zmin));
    if (miniblocks > size - pos) return Short("DELTA_BINARY_PACKED bit widths");
    const uint8_t* widths = data + pos;
    pos += miniblocks;
    for (uint64_t m = 0; m < miniblocks && remaining > 0; ++m) {
      int w = widths[m];
      if (w > 64) return Status::Corruption("DELTA_BINARY_PACKED: bit width " + std::to_string(w));
      uint64_t bytes = per_mini * w / 8;
      if (bytes > size - pos) return Short("DELTA_BINARY_PACKED miniblock");
      size_t take = static_cast<size_t>(std::min<uint64_t>(per_mini, remaining));
      if (pos + bytes + 8 <= size) {
        Unpack(data + pos, w, take, deltas.data());
      } else {
        std::string tmp(bytes + 9, '\0');
        std::memcpy(tmp.data(), data + pos, bytes);
        Unpack(reinterpret_cast<const uint8_t*>(tmp.data()), w, take, deltas.data());
      }
      for (size_t i = 0; i < take; ++i) {
        value += min_delta + deltas[i];  // wraps as the format intends
        if (got < count) {
          out->push_back(static_cast<int64_t>(value));
          ++got;
        }
      }
      remaining -= take;
      pos += bytes;
    }
  }
  *consumed = pos;
  return Status::OK();
}

Status DecodeDeltaLengthByteArray(const uint8_t* data, size_t size, size_t count, std::vector<std::string>* out) {
  std::vector<int64_t> lengths;
  size_t pos;
  PITSTORE_RETURN_IF_ERROR(DecodeDeltaBinaryPacked(data, size, count, &lengths, &pos));
  for (int64_t len : lengths) {
    if (len < 0 || static_cast<uint64_t>(len) > size - pos) return Short("DELTA_LENGTH_BYTE_ARRAY");
    out->emplace_back(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
  }
  return Status::OK();
}

Status DecodeDeltaByteArray(const uint8_t* data, size_t size, size_t count, std::vector<std::string>* out) {
  std::vector<int64_t> prefixes;
  size_t pos;
  PITSTORE_RETURN_IF_ERROR(DecodeDeltaBinaryPacked(data, size, count, &prefixes, &pos));
  std::vector<std::string> suffixes;
  PITSTORE_RETURN_IF_ERROR(DecodeDeltaLengthByteArray(data + pos, size - pos, count, &suffixes));
  std::string last;
  for (size_t i = 0; i < count; ++i) {
    if (prefixes[i] < 0 || static_cast<uint64_t>(prefixes[i]) > last.size())
      return Status::Corruption("DELTA_BYTE_ARRAY: a prefix longer than the previous value");
    last.resize(prefixes[i]);
    last += suffixes[i];
    out->push_back(last);
  }
  return Status::OK();
}

Status DecodeByteStreamSplit(const uint8_t* data, size_t size, const ValueKind& kind, size_t count, Values* out) {
  size_t w = kind.type == kFloat || kind.type == kInt32                ? 4
             : kind.type == kDouble || kind.type == kInt64             ? 8
             : kind.type == kFixedLenByteArray && kind.type_length > 0 ? static_cast<size_t>(kind.type_length)
                                                                       : 0;
  if (w == 0) return Status::Corruption("BYTE_STREAM_SPLIT for this physical type");
  if (count > size / w) return Short("BYTE_STREAM_SPLIT");
  std::string row(w, '\0');
  size_t plain_consumed;
  for (size_t i = 0; i < count; ++i) {
    for (size_t b = 0; b < w; ++b) row[b] = static_cast<char>(data[b * count + i]);
    PITSTORE_RETURN_IF_ERROR(
        DecodePlain(reinterpret_cast<const uint8_t*>(row.data()), w, kind, 1, out, &plain_consumed));
  }
  return Status::OK();
}

void EncodeHybrid(const std::vector<uint8_t>& values, int bit_width, std::string* out) {
  auto varint = [&](uint64_t v) {
    while (v >= 0x80) {
      out->push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out->push_back(static_cast<char>(v));
  };
  size_t n = values.size();
  auto run_at = [&](size_t i) {
    size_t j = i;
    while (j < n && values[j] == values[i]) ++j;
    return j - i;
  };
  size_t i = 0;
  while (i < n) {
    size_t run = run_at(i);
    if (run >= 8 || i + run == n) {  // an RLE run
      varint(run << 1);
      out->push_back(static_cast<char>(values[i]));  // levels here are at most 8 bits wide
      i += run;
      continue;
    }
    // Bit-packed groups of 8 until a run of 8 or more starts at a group's boundary; only the
    // stream's last group may be padded (readers stop at the value count).
    size_t k = i;
    do {
      k += 8;
    } while (k < n && run_at(k) < 8);
    k = std::min(k, n);
    size_t groups = (k - i + 7) / 8;
    varint(groups << 1 | 1);
    size_t start = out->size();
    out->resize(start + groups * bit_width, '\0');
    for (size_t v = 0; v < k - i; ++v) {
      size_t bit = v * bit_width;
      for (int b = 0; b < bit_width; ++b, ++bit)
        if (values[i + v] >> b & 1) (*out)[start + bit / 8] |= static_cast<char>(1 << (bit % 8));
    }
    i = k;
  }
}

}  // namespace pitstore::io::parquet
