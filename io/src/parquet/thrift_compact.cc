#include "thrift_compact.h"

namespace pitstore::io::parquet {

using namespace thrift;

namespace {
constexpr int kMaxDepth = 32;
}

void ThriftReader::Fail(const std::string& what) {
  if (error_.empty()) error_ = what + " at metadata byte " + std::to_string(pos_);
}

uint64_t ThriftReader::ReadVarint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= size_) {
      Fail("metadata ends inside a number");
      return 0;
    }
    uint8_t b = data_[pos_++];
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  Fail("number longer than 10 bytes");
  return 0;
}

void ThriftReader::BeginStruct() {
  if (last_id_.size() >= kMaxDepth) Fail("structs nested too deep");
  last_id_.push_back(current_id_);
  current_id_ = 0;
}

void ThriftReader::EndStruct() {
  if (last_id_.empty()) return;
  current_id_ = last_id_.back();
  last_id_.pop_back();
}

bool ThriftReader::ReadField(int16_t* id, uint8_t* type) {
  if (!ok()) return false;
  if (pos_ >= size_) {
    Fail("metadata ends inside a struct");
    return false;
  }
  uint8_t b = data_[pos_++];
  *type = b & 0x0F;
  if (*type == kStop) return false;
  if (*type > kStruct) {
    Fail("unknown field type " + std::to_string(*type));
    return false;
  }
  int delta = b >> 4;
  if (delta) {
    *id = static_cast<int16_t>(current_id_ + delta);
  } else {
    uint64_t z = ReadVarint();
    *id = static_cast<int16_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  current_id_ = *id;
  return ok();
}

bool ThriftReader::ReadBool(uint8_t field_type) {
  if (field_type == kTrue) return true;
  if (field_type == kFalse) return false;
  Fail("a bool field of another type");
  return false;
}

int64_t ThriftReader::ReadI64() {
  uint64_t z = ReadVarint();
  return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

int32_t ThriftReader::ReadI32() {
  int64_t v = ReadI64();
  if (v < INT32_MIN || v > INT32_MAX) {
    Fail("i32 out of range");
    return 0;
  }
  return static_cast<int32_t>(v);
}

std::string ThriftReader::ReadString() {
  uint64_t n = ReadVarint();
  if (!ok()) return {};
  if (n > size_ - pos_) {
    Fail("string of " + std::to_string(n) + " bytes past the end");
    return {};
  }
  std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
  pos_ += n;
  return s;
}

uint32_t ThriftReader::ReadListHeader(uint8_t* elem_type) {
  if (pos_ >= size_) {
    Fail("metadata ends at a list");
    return 0;
  }
  uint8_t b = data_[pos_++];
  *elem_type = b & 0x0F;
  uint64_t n = b >> 4;
  if (n == 15) n = ReadVarint();
  // Every element takes at least one byte (bools too), so a larger count is a lie.
  if (ok() && n > size_ - pos_) Fail("list of " + std::to_string(n) + " elements past the end");
  return ok() ? static_cast<uint32_t>(n) : 0;
}

void ThriftReader::Skip(uint8_t type) { SkipDepth(type, 0); }

void ThriftReader::SkipDepth(uint8_t type, int depth) {
  if (!ok()) return;
  if (depth > kMaxDepth) return Fail("values nested too deep");
  switch (type) {
    case kTrue:
    case kFalse:
      return;
    case kByte:
      if (pos_ >= size_) return Fail("metadata ends inside a byte");
      ++pos_;
      return;
    case kI16:
    case kI32:
    case kI64:
      ReadVarint();
      return;
    case kDouble:
      if (size_ - pos_ < 8) return Fail("metadata ends inside a double");
      pos_ += 8;
      return;
    case kBinary:
      ReadString();
      return;
    case kList:
    case kSet: {
      uint8_t elem;
      uint32_t n = ReadListHeader(&elem);
      for (uint32_t i = 0; i < n && ok(); ++i) {
        if (elem == kTrue || elem == kFalse) {  // a bool element is one byte
          SkipDepth(kByte, depth + 1);
        } else {
          SkipDepth(elem, depth + 1);
        }
      }
      return;
    }
    case kMap: {
      uint64_t n = ReadVarint();
      if (n == 0) return;
      if (pos_ >= size_) return Fail("metadata ends inside a map");
      if (n > size_ - pos_) return Fail("map past the end");
      uint8_t kv = data_[pos_++];
      for (uint64_t i = 0; i < n && ok(); ++i) {
        SkipDepth((kv >> 4) == kTrue || (kv >> 4) == kFalse ? kByte : kv >> 4, depth + 1);
        SkipDepth((kv & 15) == kTrue || (kv & 15) == kFalse ? kByte : kv & 15, depth + 1);
      }
      return;
    }
    case kStruct: {
      BeginStruct();
      int16_t id;
      uint8_t t;
      while (ReadField(&id, &t)) SkipDepth(t, depth + 1);
      EndStruct();
      return;
    }
    default:
      return Fail("unknown value type " + std::to_string(type));
  }
}

void ThriftWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void ThriftWriter::Header(int16_t id, uint8_t type) {
  int delta = id - current_id_;
  if (delta > 0 && delta <= 15) {
    out_.push_back(static_cast<char>(delta << 4 | type));
  } else {
    out_.push_back(static_cast<char>(type));
    Varint(ZigZag(id));
  }
  current_id_ = id;
}

void ThriftWriter::BeginStruct() {
  last_id_.push_back(current_id_);
  current_id_ = 0;
}

void ThriftWriter::EndStruct() {
  out_.push_back(0);
  current_id_ = last_id_.back();
  last_id_.pop_back();
}

void ThriftWriter::FieldStruct(int16_t id) {
  Header(id, kStruct);
  BeginStruct();
}

void ThriftWriter::FieldI32(int16_t id, int32_t v) {
  Header(id, kI32);
  Varint(ZigZag(v));
}

void ThriftWriter::FieldI64(int16_t id, int64_t v) {
  Header(id, kI64);
  Varint(ZigZag(v));
}

void ThriftWriter::FieldBool(int16_t id, bool v) { Header(id, v ? kTrue : kFalse); }

void ThriftWriter::FieldBinary(int16_t id, std::string_view v) {
  Header(id, kBinary);
  ElemBinary(v);
}

void ThriftWriter::ElemBinary(std::string_view v) {
  Varint(v.size());
  out_.append(v);
}

void ThriftWriter::FieldList(int16_t id, uint8_t elem_type, uint32_t size) {
  Header(id, kList);
  if (size < 15) {
    out_.push_back(static_cast<char>(size << 4 | elem_type));
  } else {
    out_.push_back(static_cast<char>(0xF0 | elem_type));
    Varint(size);
  }
}

}  // namespace pitstore::io::parquet
