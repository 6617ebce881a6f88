// A training set straight into an Arrow stream: labels from a Parquet file, features of several
// views joined point-in-time, handed over as an ArrowArrayStream (what pyarrow, polars, DuckDB or
// a Spark task takes in) with no file in between. The stream is read here through the C ABI
// alone, as a consumer in another language would, and summed: rows, and per column the non-null
// count (and the sum of int64 and timestamp columns).
//   pitstore-training-set-stream STORE LABELS.parquet VIEW:FEATURE... [--known-at label]
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "pitstore/io/arrow_c.h"
#include "pitstore/io/parquet_tables.h"
#include "pitstore/store.h"
#include "pitstore/workflow/joiner.h"

using namespace pitstore;

int Fail(const Status& st) {
  std::fprintf(stderr, "pitstore-training-set-stream: %s\n", st.ToString().c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s STORE LABELS.parquet VIEW:FEATURE... [--known-at label]\n", argv[0]);
    return 2;
  }
  workflow::FeatureRequest request;
  JoinOptions join;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--known-at") == 0 && i + 1 < argc && std::strcmp(argv[i + 1], "label") == 0) {
      join.known_at = KnownAt::kLabelTime;
      ++i;
    } else {
      request.features.push_back(argv[i]);
    }
  }
  Options options;
  options.read_only = true;
  auto store = Store::Open(argv[1], options);
  if (!store.ok()) return Fail(store.status());
  auto labels = io::OpenParquetTables(argv[2]);
  if (!labels.ok()) return Fail(labels.status());
  auto joiner = workflow::TrainingSetJoiner::Open(**store, request, join);
  if (!joiner.ok()) return Fail(joiner.status());
  auto joined = workflow::JoinTables(std::move(joiner).value(), std::move(labels).value(), {});
  if (!joined.ok()) return Fail(joined.status());
  ArrowArrayStream stream;
  Status st = io::ExportStream(std::move(joined).value(), &stream);
  if (!st.ok()) return Fail(st);

  // From here on, only the Arrow C ABI.
  ArrowSchema schema;
  if (stream.get_schema(&stream, &schema) != 0) {
    std::fprintf(stderr, "get_schema: %s\n", stream.get_last_error(&stream));
    return 1;
  }
  const int64_t columns = schema.n_children;
  std::vector<int64_t> non_null(columns, 0), sums(columns, 0);
  int64_t rows = 0, batches = 0;
  for (;;) {
    ArrowArray batch;
    if (stream.get_next(&stream, &batch) != 0) {
      std::fprintf(stderr, "get_next: %s\n", stream.get_last_error(&stream));
      return 1;
    }
    if (!batch.release) break;  // the end
    ++batches;
    rows += batch.length;
    for (int64_t c = 0; c < columns; ++c) {
      const ArrowArray* a = batch.children[c];
      const char* format = schema.children[c]->format;
      const uint8_t* validity = static_cast<const uint8_t*>(a->buffers[0]);
      for (int64_t i = a->offset; i < a->offset + a->length; ++i) {
        bool present = !validity || ((validity[i >> 3] >> (i & 7)) & 1);
        if (!present) continue;
        ++non_null[c];
        if (std::strcmp(format, "l") == 0 || std::strncmp(format, "tsu", 3) == 0)
          sums[c] += static_cast<const int64_t*>(a->buffers[1])[i];
      }
    }
    batch.release(&batch);
  }
  std::printf("rows %" PRId64 " in %" PRId64 " batch(es)\n", rows, batches);
  for (int64_t c = 0; c < columns; ++c)
    std::printf("%s %s non_null %" PRId64 " sum %" PRId64 "\n", schema.children[c]->name, schema.children[c]->format,
                non_null[c], sums[c]);
  schema.release(&schema);
  stream.release(&stream);
  return 0;
}
