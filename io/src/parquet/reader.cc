// The Parquet reader (reader.h): schema flattening, column chunks, pages and level assembly.
// Slightly over 400 lines: a page is decoded by one chain of steps that reads best unbroken.
#include "reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "codecs.h"

namespace pitstore::io::parquet {
namespace {

constexpr uint32_t kMaxPageValues = 1u << 24;  // no writer puts more in one page; bounds memory
constexpr uint64_t kMaxChunkBytes = 1ull << 31;

const char* TypeName(int32_t t) {
  static const char* const kNames[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                       "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && t < 8 ? kNames[t] : "an unknown type";
}

std::string EncodingName(int32_t e) {
  static const char* const kNames[] = {
      "PLAIN",          "GROUP_VAR_INT",       "PLAIN_DICTIONARY",        "RLE",
      "BIT_PACKED",     "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
      "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return e >= 0 && e < 10 ? kNames[e] : "encoding " + std::to_string(e);
}

// Why a leaf column's annotation cannot be read, or "".
std::string UnsupportedLeaf(const SchemaElement& e) {
  if (e.logical == kLogicalDecimal || e.converted_type == kDecimal) return "DECIMAL values";
  if (e.logical == kLogicalTime || e.converted_type == 7 || e.converted_type == 8) return "TIME values";
  if (e.logical == kLogicalUuid) return "UUID values";
  if (e.logical == kLogicalFloat16) return "FLOAT16 values";
  if (e.converted_type == 21) return "INTERVAL values";
  if (e.type < 0 || e.type > kFixedLenByteArray) return "physical type " + std::to_string(e.type);
  return "";
}

uint32_t Le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

bool IsUnsigned32(const SchemaElement& e) {
  return e.type == kInt32 && ((e.converted_type >= kUint8 && e.converted_type <= kUint32) ||
                              (e.logical == kLogicalInteger && !e.int_signed));
}

ParquetFile::~ParquetFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<ParquetFile>> ParquetFile::Open(const std::string& path) {
  std::unique_ptr<ParquetFile> f(new ParquetFile);
  f->name_ = path;
  f->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd_ < 0) {
    int err = errno;
    return err == ENOENT ? Status::NotFound(path + ": no such file")
                         : Status::IOError(path + ": cannot open: " + std::strerror(err));
  }
  struct stat st;
  if (::fstat(f->fd_, &st) != 0) return Status::IOError(path + ": cannot stat: " + std::strerror(errno));
  f->size_ = static_cast<uint64_t>(st.st_size);
  PITSTORE_RETURN_IF_ERROR(f->Init());
  return f;
}

Result<std::unique_ptr<ParquetFile>> ParquetFile::FromBuffer(std::string data, const std::string& name) {
  std::unique_ptr<ParquetFile> f(new ParquetFile);
  f->name_ = name;
  f->buffer_ = std::move(data);
  f->size_ = f->buffer_.size();
  PITSTORE_RETURN_IF_ERROR(f->Init());
  return f;
}

Status ParquetFile::ReadAt(uint64_t offset, size_t n, std::string* out) const {
  if (offset > size_ || n > size_ - offset)
    return Status::Corruption(name_ + ": " + std::to_string(n) + " bytes at offset " + std::to_string(offset) +
                              " lie past the end of the file (" + std::to_string(size_) + " bytes)");
  if (fd_ < 0) {
    out->assign(buffer_, offset, n);
    return Status::OK();
  }
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      return Status::IOError(name_ + ": read failed at offset " + std::to_string(offset + done) + ": " +
                             (r < 0 ? std::strerror(errno) : "unexpected end of file"));
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

uint64_t ParquetFile::row_group_end(size_t g) const {
  uint64_t end = 4;
  for (const ColumnMetaData& c : meta_.row_groups[g].columns) {
    uint64_t e = static_cast<uint64_t>(std::max<int64_t>(c.data_page_offset, 0)) +
                 static_cast<uint64_t>(std::max<int64_t>(c.total_compressed_size, 0));
    end = std::max(end, std::min(e, metadata_offset_));
  }
  return end;
}

Status ParquetFile::Init() {
  if (size_ < 12) return Status::Corruption(name_ + ": " + std::to_string(size_) + " bytes is too short for Parquet");
  std::string head, tail;
  PITSTORE_RETURN_IF_ERROR(ReadAt(0, 4, &head));
  PITSTORE_RETURN_IF_ERROR(ReadAt(size_ - 8, 8, &tail));
  if (tail.compare(4, 4, "PARE") == 0) return Status::NotSupported(name_ + ": an encrypted Parquet file");
  if (head != "PAR1" || tail.compare(4, 4, "PAR1") != 0)
    return Status::Corruption(name_ + ": not a Parquet file (no PAR1 at its start and end)");
  uint32_t len = Le32(reinterpret_cast<const uint8_t*>(tail.data()));
  if (len > size_ - 12)
    return Status::Corruption(name_ + ": the footer says its metadata has " + std::to_string(len) +
                              " bytes; the file has " + std::to_string(size_));
  metadata_offset_ = size_ - 8 - len;
  std::string meta;
  PITSTORE_RETURN_IF_ERROR(ReadAt(metadata_offset_, len, &meta));
  Status st = ParseFileMetaData(reinterpret_cast<const uint8_t*>(meta.data()), meta.size(), &meta_);
  if (!st.ok())
    return Status::Corruption(name_ + ": " + st.message() + " (metadata at offset " + std::to_string(metadata_offset_) +
                              ")");
  int64_t group_rows = 0;
  bool overflow = false;
  for (const RowGroup& g : meta_.row_groups) overflow |= __builtin_add_overflow(group_rows, g.num_rows, &group_rows);
  if (overflow || group_rows != meta_.num_rows)
    return Status::Corruption(name_ + ": its metadata (at offset " + std::to_string(metadata_offset_) + ") says " +
                              std::to_string(meta_.num_rows) + " rows, but its row groups hold " +
                              std::to_string(group_rows));
  for (const auto& [key, value] : meta_.key_value)
    if (key == kMetadataCrcKey && value != MetadataCrc(meta_))
      return Status::Corruption(name_ + ": its metadata (at offset " + std::to_string(metadata_offset_) +
                                ") does not match the checksum pitstore wrote into it (the file is damaged)");
  const std::vector<SchemaElement>& s = meta_.schema;
  if (s.empty() || s[0].num_children < 0) return Status::Corruption(name_ + ": the schema has no root");

  // Walks the schema depth first: each top-level field becomes a column; leaves are counted
  // in order, as their column chunks are stored.
  size_t pos = 1;
  std::string bad;
  // Skips the subtree at `pos`, counting its leaves; false if the schema is malformed.
  auto skip = [&](auto& self, int depth) -> bool {
    if (pos >= s.size() || depth > 64) return false;
    const SchemaElement& e = s[pos++];
    if (e.num_children < 0) return false;
    if (e.num_children == 0 && e.type >= 0) {
      ++leaves_;
      return true;
    }
    if (e.num_children == 0) return false;  // a group without children
    for (int32_t i = 0; i < e.num_children; ++i)
      if (!self(self, depth + 1)) return false;
    return true;
  };
  for (int32_t i = 0; i < s[0].num_children; ++i) {
    if (pos >= s.size()) return Status::Corruption(name_ + ": the schema has fewer fields than it says");
    const size_t at = pos;
    const SchemaElement& e = s[at];
    ColumnDesc c;
    c.name = e.name;
    c.leaf = leaves_;
    if (!skip(skip, 0)) return Status::Corruption(name_ + ": malformed schema at field '" + e.name + "'");
    const bool optional = e.repetition == kOptional;
    if (e.type >= 0 && e.num_children == 0) {
      c.element = e;
      if (e.repetition == kRepeated) {  // a repeated top-level field: a list of its values
        c.list = true;
        c.max_rep = 1;
        c.max_def = 1;
        c.list_def = 0;
        c.elem_def = 1;
      } else {
        c.max_def = optional ? 1 : 0;
      }
    } else if ((e.converted_type == kList || e.logical == kLogicalList) && e.num_children == 1 &&
               s[at + 1].repetition == kRepeated) {
      const SchemaElement& r = s[at + 1];
      c.list = true;
      c.max_rep = 1;
      c.list_def = optional ? 1 : 0;
      c.elem_def = c.list_def + 1;
      if (r.type >= 0 && r.num_children == 0) {  // two-level list
        c.element = r;
        c.max_def = c.elem_def;
      } else if (r.num_children == 1 && s[at + 2].type >= 0 && s[at + 2].num_children == 0 &&
                 s[at + 2].repetition != kRepeated) {  // three-level list
        c.element = s[at + 2];
        c.max_def = c.elem_def + (c.element.repetition == kOptional ? 1 : 0);
      } else {
        c.unsupported = "a list of lists or structs";
      }
    } else if (e.converted_type == 1 || e.converted_type == 2 || e.logical == kLogicalMap) {
      c.unsupported = "a MAP";
    } else {
      c.unsupported = e.converted_type == kList || e.logical == kLogicalList ? "a LIST of this layout" : "a struct";
    }
    if (c.unsupported.empty()) c.unsupported = UnsupportedLeaf(c.element);
    if (c.unsupported.empty() && c.list && c.element.type != kFloat && c.element.type != kDouble)
      c.unsupported = std::string("a list of ") + TypeName(c.element.type) + " (lists of FLOAT or DOUBLE are read)";
    columns_.push_back(std::move(c));
  }
  if (pos != s.size()) return Status::Corruption(name_ + ": the schema has more elements than its fields");
  for (size_t g = 0; g < meta_.row_groups.size(); ++g) {
    const RowGroup& rg = meta_.row_groups[g];
    if (rg.columns.size() != leaves_)
      return Status::Corruption(name_ + ": row group " + std::to_string(g) + " has " +
                                std::to_string(rg.columns.size()) + " column chunks; the schema has " +
                                std::to_string(leaves_) + " columns");
    if (rg.num_rows < 0) return Status::Corruption(name_ + ": row group " + std::to_string(g) + " has negative rows");
  }
  return Status::OK();
}

Status ParquetFile::ReadChunk(size_t g, size_t col, ColumnChunk* out) const {
  const ColumnDesc& c = columns_[col];
  const RowGroup& rg = meta_.row_groups[g];
  const ColumnMetaData& cm = rg.columns[c.leaf];
  out->def.clear();
  out->rep.clear();
  out->levels = 0;
  out->values.clear();
  const std::string where = name_ + ": row group " + std::to_string(g) + ", column '" + c.name + "'";
  if (!c.unsupported.empty()) return Status::NotSupported(where + ": " + c.unsupported);
  if (cm.type != c.element.type)
    return Status::Corruption(where + ": the chunk's type " + TypeName(cm.type) + " is not the schema's " +
                              TypeName(c.element.type));
  int64_t start = cm.data_page_offset;
  if (cm.dictionary_page_offset > 0 && cm.dictionary_page_offset < start) start = cm.dictionary_page_offset;
  const int64_t len = cm.total_compressed_size;
  if (start < 4 || len <= 0 || static_cast<uint64_t>(len) > kMaxChunkBytes ||
      static_cast<uint64_t>(start) + static_cast<uint64_t>(len) > metadata_offset_)
    return Status::Corruption(where + ": the chunk's " + std::to_string(len) + " bytes at offset " +
                              std::to_string(start) + " are not within the file's data");
  if (cm.num_values < 0 || (!c.list && cm.num_values != rg.num_rows))
    return Status::Corruption(where + ": " + std::to_string(cm.num_values) + " values in a row group of " +
                              std::to_string(rg.num_rows) + " rows");
  std::string chunk;
  PITSTORE_RETURN_IF_ERROR(ReadAt(static_cast<uint64_t>(start), static_cast<size_t>(len), &chunk));
  const uint8_t* data = reinterpret_cast<const uint8_t*>(chunk.data());
  Values dictionary;
  bool has_dictionary = false;
  size_t pos = 0;
  while (pos < chunk.size() && out->levels < static_cast<uint64_t>(cm.num_values)) {
    const uint64_t page_offset = static_cast<uint64_t>(start) + pos;
    auto fail = [&](const Status& st) {
      return st.WithMessage(where + ": page at offset " + std::to_string(page_offset) + ": " + st.message());
    };
    PageHeader h;
    size_t header_size;
    Status st = ParsePageHeader(data + pos, chunk.size() - pos, &h, &header_size);
    if (!st.ok()) return fail(st);
    pos += header_size;
    if (static_cast<uint64_t>(h.compressed_size) > chunk.size() - pos)
      return fail(Status::Corruption("its " + std::to_string(h.compressed_size) + " bytes run past the chunk"));
    const uint8_t* body = data + pos;
    pos += h.compressed_size;
    // Pages whose writer gave a CRC are checked before anything of them is decoded.
    if (h.has_crc && PageCrc(body, static_cast<size_t>(h.compressed_size)) != h.crc)
      return fail(Status::Corruption("its CRC does not match its bytes (the file is damaged)"));
    if (h.type == kDictionaryPage) {
      if (has_dictionary) return fail(Status::Corruption("a second dictionary page"));
      if (h.encoding != kPlain && h.encoding != kPlainDictionary)
        return fail(Status::NotSupported("a dictionary in " + EncodingName(h.encoding)));
      std::string page;
      st = Decompress(cm.codec, body, h.compressed_size, h.uncompressed_size, &page);
      if (st.ok()) {
        size_t consumed;
        ValueKind kind{c.element.type, c.element.type_length, IsUnsigned32(c.element)};
        st = DecodePlain(reinterpret_cast<const uint8_t*>(page.data()), page.size(), kind, h.num_values, &dictionary,
                         &consumed);
      }
      if (!st.ok()) return fail(st);
      has_dictionary = true;
    } else if (h.type == kDataPage || h.type == kDataPageV2) {
      st = DecodePage(c, cm, h, body, dictionary, has_dictionary, out);
      if (!st.ok()) return fail(st);
    }  // index pages and unknown page types are skipped
  }
  if (out->levels != static_cast<uint64_t>(cm.num_values))
    return Status::Corruption(where + ": the chunk holds " + std::to_string(out->levels) + " of its " +
                              std::to_string(cm.num_values) + " values");
  return Status::OK();
}

Status ParquetFile::DecodePage(const ColumnDesc& c, const ColumnMetaData& cm, const PageHeader& h, const uint8_t* body,
                               const Values& dictionary, bool has_dictionary, ColumnChunk* out) const {
  const size_t n = static_cast<size_t>(h.num_values);
  if (n > kMaxPageValues) return Status::Corruption(std::to_string(n) + " values in one page");
  std::string page;
  const uint8_t* p;
  size_t size;
  const size_t def_from = out->def.size();
  if (h.type == kDataPage) {
    PITSTORE_RETURN_IF_ERROR(Decompress(cm.codec, body, h.compressed_size, h.uncompressed_size, &page));
    p = reinterpret_cast<const uint8_t*>(page.data());
    size = page.size();
    auto levels = [&](int max_level, std::vector<uint32_t>* into) -> Status {
      if (max_level == 0) return Status::OK();
      if (size < 4) return Status::Corruption("the page ends before its levels");
      uint32_t len = Le32(p);
      if (len > size - 4) return Status::Corruption("levels of " + std::to_string(len) + " bytes past the page's end");
      PITSTORE_RETURN_IF_ERROR(DecodeHybrid(p + 4, len, BitWidth(max_level), n, into));
      p += 4 + len;
      size -= 4 + len;
      return Status::OK();
    };
    PITSTORE_RETURN_IF_ERROR(levels(c.max_rep, &out->rep));
    PITSTORE_RETURN_IF_ERROR(levels(c.max_def, &out->def));
  } else {
    const size_t levels_bytes = static_cast<size_t>(h.rep_levels_bytes) + h.def_levels_bytes;
    if (levels_bytes > static_cast<size_t>(h.compressed_size) ||
        levels_bytes > static_cast<size_t>(h.uncompressed_size))
      return Status::Corruption("levels larger than the page");
    if (c.max_rep) PITSTORE_RETURN_IF_ERROR(DecodeHybrid(body, h.rep_levels_bytes, BitWidth(c.max_rep), n, &out->rep));
    if (c.max_def)
      PITSTORE_RETURN_IF_ERROR(
          DecodeHybrid(body + h.rep_levels_bytes, h.def_levels_bytes, BitWidth(c.max_def), n, &out->def));
    const uint8_t* values = body + levels_bytes;
    const size_t stored = h.compressed_size - levels_bytes, raw = h.uncompressed_size - levels_bytes;
    if (h.is_compressed && cm.codec != kUncompressed) {
      PITSTORE_RETURN_IF_ERROR(Decompress(cm.codec, values, stored, raw, &page));
      p = reinterpret_cast<const uint8_t*>(page.data());
      size = page.size();
    } else {
      if (stored != raw) return Status::Corruption("an uncompressed page whose sizes differ");
      p = values;
      size = stored;
    }
  }
  // Levels beyond their maximum would misplace values.
  size_t present = n;
  if (c.max_def) {
    present = 0;
    for (size_t i = def_from; i < out->def.size(); ++i) {
      if (out->def[i] > static_cast<uint32_t>(c.max_def)) return Status::Corruption("a definition level too large");
      present += out->def[i] == static_cast<uint32_t>(c.max_def);
    }
  }
  for (size_t i = out->rep.size() - (c.max_rep ? n : 0); i < out->rep.size(); ++i)
    if (out->rep[i] > static_cast<uint32_t>(c.max_rep)) return Status::Corruption("a repetition level too large");

  const ValueKind kind{c.element.type, c.element.type_length, IsUnsigned32(c.element)};
  Values& v = out->values;
  const size_t before = v.size();
  size_t consumed = 0;
  switch (h.encoding) {
    case kPlain:
      PITSTORE_RETURN_IF_ERROR(DecodePlain(p, size, kind, present, &v, &consumed));
      break;
    case kPlainDictionary:
    case kRleDictionary: {
      if (!has_dictionary) return Status::Corruption("dictionary-encoded values without a dictionary page");
      if (present == 0) break;
      if (size < 1) return Status::Corruption("the page ends before its dictionary indexes");
      std::vector<uint32_t> idx;
      PITSTORE_RETURN_IF_ERROR(DecodeHybrid(p + 1, size - 1, p[0], present, &idx));
      const size_t dsize = dictionary.size();
      for (uint32_t i : idx)
        if (i >= dsize)
          return Status::Corruption("dictionary index " + std::to_string(i) + " of a dictionary of " +
                                    std::to_string(dsize));
      if (!dictionary.ints.empty())
        for (uint32_t i : idx) v.ints.push_back(dictionary.ints[i]);
      else if (!dictionary.doubles.empty())
        for (uint32_t i : idx) v.doubles.push_back(dictionary.doubles[i]);
      else
        for (uint32_t i : idx) v.strings.push_back(dictionary.strings[i]);
      break;
    }
    case kRle: {
      if (c.element.type != kBoolean) return Status::NotSupported("RLE values of " + std::string(TypeName(kind.type)));
      if (present == 0) break;
      if (size < 4 || Le32(p) > size - 4) return Status::Corruption("RLE booleans past the page's end");
      std::vector<uint32_t> bits;
      PITSTORE_RETURN_IF_ERROR(DecodeHybrid(p + 4, Le32(p), 1, present, &bits));
      for (uint32_t b : bits) v.ints.push_back(b);
      break;
    }
    case kDeltaBinaryPacked: {
      if (kind.type != kInt32 && kind.type != kInt64)
        return Status::Corruption("DELTA_BINARY_PACKED for " + std::string(TypeName(kind.type)));
      if (present == 0) break;
      size_t at = v.ints.size();
      PITSTORE_RETURN_IF_ERROR(DecodeDeltaBinaryPacked(p, size, present, &v.ints, &consumed));
      if (kind.type == kInt32)
        for (size_t i = at; i < v.ints.size(); ++i)
          v.ints[i] = kind.unsigned_int ? static_cast<int64_t>(static_cast<uint32_t>(v.ints[i]))
                                        : static_cast<int64_t>(static_cast<int32_t>(v.ints[i]));
      break;
    }
    case kDeltaLengthByteArray:
      if (kind.type != kByteArray)
        return Status::Corruption("DELTA_LENGTH_BYTE_ARRAY for " + std::string(TypeName(kind.type)));
      if (present) PITSTORE_RETURN_IF_ERROR(DecodeDeltaLengthByteArray(p, size, present, &v.strings));
      break;
    case kDeltaByteArray:
      if (kind.type != kByteArray && kind.type != kFixedLenByteArray)
        return Status::Corruption("DELTA_BYTE_ARRAY for " + std::string(TypeName(kind.type)));
      if (present) PITSTORE_RETURN_IF_ERROR(DecodeDeltaByteArray(p, size, present, &v.strings));
      break;
    case kByteStreamSplit:
      PITSTORE_RETURN_IF_ERROR(DecodeByteStreamSplit(p, size, kind, present, &v));
      break;
    default:
      return Status::NotSupported("values in " + EncodingName(h.encoding));
  }
  if (v.size() - before != present)
    return Status::Corruption("the page holds " + std::to_string(v.size() - before) + " of its " +
                              std::to_string(present) + " values");
  out->levels += n;
  return Status::OK();
}

}  // namespace pitstore::io::parquet
