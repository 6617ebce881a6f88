#include <cerrno>
#include <cstring>

#include "pitstore/io/timestamps.h"
#include "record_source_internal.h"

namespace pitstore::io {

static std::unique_ptr<RecordSource> NewSource(std::unique_ptr<ByteStream> in, std::string name, SourceFormat format) {
  if (format == SourceFormat::kCsv) return NewCsvSource(std::move(in), std::move(name));
  return NewJsonLinesSource(std::move(in), std::move(name));
}

Status ReadNaiveTimesIn(const std::string& zone, RecordSource& source, std::string* suffix) {
  std::string why = NaiveZoneSuffix(zone, suffix);
  if (!why.empty()) return Status::InvalidArgument(why);
  source.SetNaiveTimeOffset(NaiveSuffixOffsetMicros(*suffix));  // Parquet's naive TIMESTAMP columns
  return Status::OK();
}

Result<std::unique_ptr<RecordSource>> OpenRecordSource(const std::string& path, SourceFormat format) {
  if (format == SourceFormat::kParquet) {
    if (path == "-") return Status::InvalidArgument("Parquet cannot be read from standard input (name the file)");
    return OpenParquetSource(path);
  }
  if (path == "-") return NewSource(std::make_unique<ByteStream>(stdin), "<stdin>", format);
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    int err = errno;
    return err == ENOENT ? Status::NotFound(path + ": no such file")
                         : Status::IOError(path + ": cannot open: " + std::strerror(err));
  }
  return NewSource(std::make_unique<ByteStream>(f), path, format);
}

std::unique_ptr<RecordSource> RecordSourceFromString(std::string data, const std::string& name, SourceFormat format) {
  return NewSource(std::make_unique<ByteStream>(std::move(data)), name, format);
}

namespace {
bool EndsWith(const std::string& s, const char* ext) {
  std::string e(ext);
  return s.size() > e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}
}  // namespace

SourceFormat SourceFormatOfPath(const std::string& path) {
  if (EndsWith(path, ".jsonl") || EndsWith(path, ".ndjson") || EndsWith(path, ".json")) return SourceFormat::kJsonLines;
  if (EndsWith(path, ".parquet") || EndsWith(path, ".pq")) return SourceFormat::kParquet;
  return SourceFormat::kCsv;
}

Result<SourceFormat> SourceFormatNamed(const std::string& name) {
  if (name == "csv") return SourceFormat::kCsv;
  if (name == "jsonl") return SourceFormat::kJsonLines;
  if (name == "parquet") return SourceFormat::kParquet;
  return Status::InvalidArgument("'" + name + "' is not a format (csv, jsonl or parquet)");
}

}  // namespace pitstore::io
