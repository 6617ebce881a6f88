// Parquet's file metadata and page headers (the parts pitstore reads and writes), with their
// Thrift field ids as in parquet-format's parquet.thrift. Unknown fields are skipped.
//
// A Parquet file: "PAR1", column chunks (each a sequence of pages: an optional dictionary
// page, then data pages, each page a PageHeader and its bytes), the FileMetaData, its length
// as a 4-byte little-endian integer, and "PAR1" again.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pitstore/status.h"

namespace pitstore::io::parquet {

enum PhysicalType : int32_t {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kInt96 = 3,
  kFloat = 4,
  kDouble = 5,
  kByteArray = 6,
  kFixedLenByteArray = 7,
};
enum Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum Codec : int32_t {
  kUncompressed = 0,
  kSnappy = 1,
  kGzip = 2,
  kLzo = 3,
  kBrotli = 4,
  kLz4 = 5,
  kZstd = 6,
  kLz4Raw = 7
};
enum Encoding : int32_t {
  kPlain = 0,
  kPlainDictionary = 2,
  kRle = 3,
  kBitPacked = 4,
  kDeltaBinaryPacked = 5,
  kDeltaLengthByteArray = 6,
  kDeltaByteArray = 7,
  kRleDictionary = 8,
  kByteStreamSplit = 9,
};
enum PageType : int32_t { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };
// ConvertedType values pitstore looks at.
enum ConvertedType : int32_t {
  kUtf8 = 0,
  kList = 3,
  kEnum = 4,
  kDecimal = 5,
  kDate = 6,
  kTimestampMillis = 9,
  kTimestampMicros = 10,
  kUint8 = 11,
  kUint16 = 12,
  kUint32 = 13,
  kUint64 = 14,
  kJson = 19,
};
// LogicalType union members (field ids).
enum LogicalKind : int32_t {
  kNoLogical = 0,
  kLogicalString = 1,
  kLogicalMap = 2,
  kLogicalList = 3,
  kLogicalEnum = 4,
  kLogicalDecimal = 5,
  kLogicalDate = 6,
  kLogicalTime = 7,
  kLogicalTimestamp = 8,
  kLogicalInteger = 10,
  kLogicalUnknown = 11,
  kLogicalJson = 12,
  kLogicalBson = 13,
  kLogicalUuid = 14,
  kLogicalFloat16 = 15,
};
enum class TimeUnit : uint8_t { kNone, kMillis, kMicros, kNanos };

struct SchemaElement {
  int32_t type = -1;  // PhysicalType; -1 for a group
  int32_t type_length = 0;
  int32_t repetition = kRequired;
  std::string name;
  int32_t num_children = 0;
  int32_t converted_type = -1;
  int32_t logical = kNoLogical;
  TimeUnit unit = TimeUnit::kNone;  // TIMESTAMP and TIME
  bool utc = false;                 // TIMESTAMP's isAdjustedToUTC
  bool int_signed = true;           // INTEGER
};

struct ColumnMetaData {
  int32_t type = 0;
  std::vector<int32_t> encodings;
  std::vector<std::string> path;
  int32_t codec = kUncompressed;
  int64_t num_values = 0;
  int64_t total_uncompressed_size = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  int64_t dictionary_page_offset = -1;  // -1: none
};

struct RowGroup {
  std::vector<ColumnMetaData> columns;
  int64_t total_byte_size = 0;
  int64_t num_rows = 0;
};

struct FileMetaData {
  int32_t version = 1;
  std::vector<SchemaElement> schema;  // depth-first; [0] is the root
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<std::pair<std::string, std::string>> key_value;
  std::string created_by;
};

struct PageHeader {
  int32_t type = kDataPage;
  int32_t uncompressed_size = 0;
  int32_t compressed_size = 0;
  // DATA_PAGE, DICTIONARY_PAGE and DATA_PAGE_V2 share these:
  int32_t num_values = 0;
  int32_t encoding = kPlain;
  // DATA_PAGE_V2 only:
  int32_t num_nulls = 0;
  int32_t num_rows = 0;
  int32_t def_levels_bytes = 0;
  int32_t rep_levels_bytes = 0;
  bool is_compressed = true;
  // The page's CRC-32 (zlib's polynomial) over its bytes as stored, header excluded; optional.
  bool has_crc = false;
  uint32_t crc = 0;
};

// Parses the footer's metadata; errors (Corruption) say what and at which byte of it.
Status ParseFileMetaData(const uint8_t* data, size_t size, FileMetaData* out);
// Parses a page header at the start of [data, data + size); *header_size is its length.
Status ParsePageHeader(const uint8_t* data, size_t size, PageHeader* out, size_t* header_size);

std::string SerializeFileMetaData(const FileMetaData& m);

// Parquet checksums pages (optionally) but not its footer. pitstore's writer stores the CRC-32 of
// what decides the values read (the schema, and each row group's rows, chunk places, codecs and
// counts) under this key; a reader that finds the key recomputes it, so a changed footer byte
// is an error rather than another type, unit or column.
inline constexpr const char* kMetadataCrcKey = "pitstore.metadata_crc32";
std::string MetadataCrc(const FileMetaData& m);
std::string SerializePageHeader(const PageHeader& h);

}  // namespace pitstore::io::parquet
