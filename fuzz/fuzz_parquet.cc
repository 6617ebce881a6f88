// Parquet files from arbitrary bytes: the footer's Thrift metadata, page headers, codecs,
// encodings and list assembly must refuse damage with an error, never crash, hang, leak or
// allocate without bound. Reads every supported column chunk of every row group, then every
// row through the RecordSource that joins of CSV output use, then every row group as a typed
// Table (what ingestion and Parquet joins use), each sent out and back through the Arrow C Data
// Interface.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "parquet/reader.h"
#include "pitstore/io/arrow_c.h"
#include "pitstore/io/parquet_tables.h"
#include "pitstore/io/record_source.h"

using namespace pitstore;
using namespace pitstore::io;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto file = parquet::ParquetFile::FromBuffer(bytes, "fuzz.parquet");
  if (!file.ok()) return 0;
  // Row groups are decoded whole; a claimed billion rows is a legal file too big to fuzz.
  int64_t rows = 0;
  for (size_t g = 0; g < (*file)->row_groups(); ++g) rows += std::max<int64_t>((*file)->rows(g), 0);
  if (rows > 1'000'000) return 0;
  std::vector<std::string> names;
  for (size_t g = 0; g < (*file)->row_groups(); ++g) {
    for (size_t c = 0; c < (*file)->columns().size(); ++c) {
      if (!(*file)->columns()[c].unsupported.empty()) continue;
      parquet::ColumnChunk chunk;
      (void)(*file)->ReadChunk(g, c, &chunk);
    }
  }
  for (const auto& c : (*file)->columns())
    if (c.unsupported.empty()) names.push_back(c.name);
  auto tables = ParquetTablesFromBuffer(bytes, "fuzz.parquet");
  if (tables.ok() && (*tables)->Select(names).ok()) {
    Table t;
    for (;;) {
      Result<bool> more = (*tables)->Next(&t);
      if (!more.ok() || !*more) break;
      ArrowSchema schema;
      ArrowArray array;
      if (!ExportTable(t, &schema, &array).ok()) continue;
      auto back = ImportTable(schema, &array);
      schema.release(&schema);
    }
  }
  auto source = ParquetSourceFromString(std::move(bytes), "fuzz.parquet");
  if (!source.ok() || !(*source)->Bind(names, {}, true).ok()) return 0;
  std::vector<Field> fields;
  uint64_t line;
  for (;;) {
    Result<bool> more = (*source)->Next(&fields, &line);
    if (!more.ok() || !*more) break;
  }
  return 0;
}
