// Parquet in and out: files written by DuckDB and polars (tests/fixtures/parquet, made by
// make_fixtures.js) read back value for value; ingestion from Parquet compared with the
// formulas the fixtures were made from; pitstore's writer read back by its reader and, where
// node and @duckdb/node-api are present, by DuckDB; damaged files refused, never crashed on.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "parquet/reader.h"
#include "pitstore/io/parquet_tables.h"
#include "pitstore/io/parquet_writer.h"
#include "pitstore/io/record_source.h"
#include "pitstore/io/text.h"
#include "pitstore/workflow/ingest.h"
#include "test_util.h"

namespace pitstore::io {
using namespace ::pitstore::workflow;
namespace {

using testing::TempDir;

const std::string kFixtures = PITSTORE_SOURCE_DIR "/tests/fixtures/parquet/";
const std::vector<std::string> kFixtureFiles = {
    "duckdb_row_groups.parquet",   "duckdb_zstd.parquet",        "duckdb_snappy.parquet", "duckdb_gzip.parquet",
    "duckdb_uncompressed.parquet", "duckdb_v2.parquet",          "polars_zstd.parquet",   "polars_snappy.parquet",
    "polars_gzip.parquet",         "polars_uncompressed.parquet"};
const std::vector<std::string> kColumns = {"user_id", "event_ts", "created_ts", "f_double", "f_float", "f_int",
                                           "f_bool",  "f_str",    "f_date",     "f_ns",     "f_ms",    "emb"};
constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z in microseconds

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `cols` with pitstore's writer, one row group ending at each of `ends`.
Status WriteParquetFile(const std::string& path, const std::vector<OutputColumn>& schema,
                        const std::vector<Column>& cols, const std::vector<size_t>& ends) {
  FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) return Status::IOError("cannot create " + path);
  Status st;
  {
    ParquetWriter w(out, schema);
    std::vector<const Column*> ptrs;
    for (const Column& c : cols) ptrs.push_back(&c);
    size_t begin = 0;
    for (size_t end : ends) {
      if (st.ok()) st = w.WriteRowGroup(ptrs, begin, end);
      begin = end;
    }
    if (st.ok()) st = w.Finish();
  }
  std::fclose(out);
  return st;
}

struct Rows {
  std::vector<std::vector<Field>> rows;
  Status status;
};

Rows ReadAll(Result<std::unique_ptr<RecordSource>> src, const std::vector<std::string>& names, bool ignore_extra) {
  Rows r;
  if (!src.ok()) {
    r.status = src.status();
    return r;
  }
  r.status = (*src)->Bind(names, {}, ignore_extra);
  std::vector<Field> fields;
  uint64_t line;
  while (r.status.ok()) {
    Result<bool> more = (*src)->Next(&fields, &line);
    if (!more.ok()) r.status = more.status();
    if (!more.ok() || !*more) break;
    r.rows.push_back(fields);
  }
  return r;
}

int64_t Int(const Field& f) {
  int64_t v = 0;
  std::from_chars(f.text.data(), f.text.data() + f.text.size(), v);
  return v;
}

// Row i as make_fixtures.js defines it.
void ExpectFixtureRow(const std::vector<Field>& r, int64_t i, const std::string& file) {
  SCOPED_TRACE(file + " row " + std::to_string(i));
  ASSERT_EQ(r.size(), kColumns.size());
  EXPECT_EQ(r[0].kind, Field::kNumber);
  EXPECT_EQ(Int(r[0]), i % 50);
  EXPECT_EQ(r[1].kind, Field::kTimestamp);
  EXPECT_EQ(Int(r[1]), kBase + i * 1'000'000);
  EXPECT_EQ(Int(r[2]), kBase + i * 1'000'000 + 500);
  if (i % 7 == 0) {
    EXPECT_EQ(r[3].kind, Field::kNull);
  } else {
    EXPECT_EQ(r[3].kind, Field::kNumber);
    EXPECT_EQ(std::stod(r[3].text), i * 0.25);
  }
  EXPECT_EQ(std::stod(r[4].text), i * 0.5);
  EXPECT_EQ(Int(r[5]), i * 3 - 1000);
  if (i % 11 == 0) {
    EXPECT_EQ(r[6].kind, Field::kNull);
  } else {
    EXPECT_EQ(r[6].kind, Field::kBool);
    EXPECT_EQ(r[6].text, i % 3 == 0 ? "true" : "false");
  }
  if (i % 5 == 0) {
    EXPECT_EQ(r[7].kind, Field::kNull);
  } else {
    EXPECT_EQ(r[7].kind, Field::kString);
    EXPECT_EQ(r[7].text, "u" + std::to_string(i % 13));
  }
  EXPECT_EQ(r[8].kind, Field::kTimestamp);
  EXPECT_EQ(Int(r[8]), 1'704'067'200'000'000 + (i % 30) * 86'400'000'000);  // DATE '2024-01-01' + i % 30
  EXPECT_EQ(Int(r[9]), kBase + i * 1'000'000);                              // + 999 ns, floored to the microsecond
  EXPECT_EQ(Int(r[10]), kBase + i * 1'000'000);
  if (i % 9 == 0) {
    EXPECT_EQ(r[11].kind, Field::kNull);
  } else {
    EXPECT_EQ(r[11].kind, Field::kArray);
    EXPECT_EQ(r[11].text, "[" + std::to_string(i) + "," + std::to_string(i + 1) + "," + std::to_string(i + 2) + "," +
                              std::to_string(i + 3) + "]");
  }
}

TEST(ParquetFixtures, EveryPeerFileReadsValueForValue) {
  for (const std::string& name : kFixtureFiles) {
    Rows r = ReadAll(OpenRecordSource(kFixtures + name, SourceFormat::kParquet), kColumns, true);
    ASSERT_TRUE(r.status.ok()) << name << ": " << r.status.ToString();
    size_t expected = name == "duckdb_row_groups.parquet" ? 5000 : 1200;
    ASSERT_EQ(r.rows.size(), expected) << name;
    for (size_t i = 0; i < r.rows.size(); ++i) {
      ExpectFixtureRow(r.rows[i], static_cast<int64_t>(i), name);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(ParquetFixtures, ColumnsAndEncodingsAreWhatTheTestClaims) {
  auto f = UNWRAP(parquet::ParquetFile::Open(kFixtures + "duckdb_row_groups.parquet"));
  EXPECT_EQ(f->row_groups(), 3u);
  auto v2 = UNWRAP(parquet::ParquetFile::Open(kFixtures + "duckdb_v2.parquet"));
  std::set<int32_t> encodings;
  for (const auto& c : v2->metadata().row_groups[0].columns) encodings.insert(c.encodings.begin(), c.encodings.end());
  EXPECT_TRUE(encodings.count(parquet::kDeltaBinaryPacked));
  EXPECT_TRUE(encodings.count(parquet::kByteStreamSplit));
  EXPECT_TRUE(encodings.count(parquet::kRleDictionary));
  std::vector<std::string> names;
  for (const auto& c : f->columns()) names.push_back(c.name);
  std::vector<std::string> all = kColumns;
  all.insert(all.begin() + 4, "f_dec");
  EXPECT_EQ(names, all);
}

TEST(ParquetFixtures, AnUnsupportedColumnIsRefusedByName) {
  std::vector<std::string> names = kColumns;
  names.push_back("f_dec");
  Rows r = ReadAll(OpenRecordSource(kFixtures + "polars_zstd.parquet", SourceFormat::kParquet), names, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), Status::Code::kNotSupported);
  EXPECT_NE(r.status.message().find("'f_dec'"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("DECIMAL"), std::string::npos) << r.status.message();
  // Not asked for and not ignored: an unknown column, named.
  r = ReadAll(OpenRecordSource(kFixtures + "polars_zstd.parquet", SourceFormat::kParquet), kColumns, false);
  EXPECT_NE(r.status.message().find("unknown column 'f_dec'"), std::string::npos) << r.status.message();
}

// A store whose view "fx" (keyed by user_id, system time from created_ts) has `features`.
std::unique_ptr<Store> FixtureStore(const TempDir& dir, std::vector<FeatureDef> features) {
  auto store = UNWRAP(Store::Open(dir.path("p.pit")));
  EXPECT_TRUE(store->DefineEntity(testing::IntEntity("user", "user_id")).ok());
  FeatureViewDef v;
  v.name = "fx";
  v.entities = {"user"};
  v.features = std::move(features);
  v.created_ts_column = "created_ts";
  EXPECT_TRUE(store->DefineView(v).ok());
  return store;
}

// A store with the fixture's features, ingested from Parquet; every read path agrees with the
// formulas.
TEST(ParquetIngest, FixtureRowsReadBackThroughEveryPath) {
  TempDir dir;
  auto store = FixtureStore(dir, {{"f_double", FeatureType::kFloat64, 0, ""},
                                  {"f_float", FeatureType::kFloat32, 0, ""},
                                  {"f_int", FeatureType::kInt32, 0, ""},
                                  {"f_bool", FeatureType::kBool, 0, ""},
                                  {"f_str", FeatureType::kString, 0, ""},
                                  {"f_date", FeatureType::kTimestamp, 0, ""},
                                  {"emb", FeatureType::kFloat32Vector, 4, ""}});
  auto src = UNWRAP(OpenRecordSource(kFixtures + "duckdb_row_groups.parquet", SourceFormat::kParquet));
  IngestOptions o;
  o.ignore_extra_columns = true;
  o.batch_rows = 1500;
  IngestReport report;
  ASSERT_OK(Ingest(*store, "fx", *src, o, &report));
  EXPECT_EQ(report.records_committed, 5000u);
  // Each user's rows are i = u, u + 50, ...; the latest is the greatest i.
  for (int64_t u = 0; u < 50; ++u) {
    int64_t i = 4950 + u;
    Lookup l = UNWRAP(store->Latest("fx", {u}));
    ASSERT_TRUE(l.found);
    EXPECT_EQ(l.event_ts, kBase + i * 1'000'000);
    EXPECT_EQ(l.system_ts, kBase + i * 1'000'000 + 500);
    EXPECT_EQ(l.status[0], i % 7 == 0 ? ValueStatus::kNull : ValueStatus::kPresent);
    if (i % 7) {
      EXPECT_EQ(l.values[0].as_float64(), i * 0.25);
    }
    EXPECT_EQ(l.values[2].as_int64(), i * 3 - 1000);
    // As of a time between two rows, known before the later one arrived: the earlier row.
    int64_t j = i - 100;
    Lookup a = UNWRAP(store->AsOf("fx", {u}, kBase + (j + 1) * 1'000'000, kBase + j * 1'000'000 + 500));
    ASSERT_TRUE(a.found);
    EXPECT_EQ(a.event_ts, kBase + j * 1'000'000);
    if (j % 9) {
      EXPECT_EQ(a.values[6].as_vector(), (std::vector<float>{float(j), float(j + 1), float(j + 2), float(j + 3)}));
    }
    if (j % 5) {
      EXPECT_EQ(a.values[4].as_string(), "u" + std::to_string(j % 13));
    }
    EXPECT_EQ(a.values[5].as_int64(), 1'704'067'200'000'000 + (j % 30) * 86'400'000'000);
  }
}

// pitstore's writer, every type with nulls, several row groups and pages, read back.
TEST(ParquetWriter, EveryTypeRoundTrips) {
  const size_t n = 300'000;
  std::vector<OutputColumn> schema = {
      {"b", FeatureType::kBool},       {"i32", FeatureType::kInt32},   {"i64", FeatureType::kInt64},
      {"ts", FeatureType::kTimestamp}, {"f32", FeatureType::kFloat32}, {"f64", FeatureType::kFloat64},
      {"s", FeatureType::kString},     {"by", FeatureType::kBytes},    {"v", FeatureType::kFloat32Vector, 3}};
  std::vector<Column> cols;
  for (const auto& c : schema) cols.push_back(Column::Of(c.type, c.dim));
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < cols.size(); ++k) {
      bool null = (i * 7 + k) % 13 == 0 || (i >= 1000 && i < 1100);  // scattered nulls and a run
      Value v;
      if (!null) switch (schema[k].type) {
          case FeatureType::kBool:
            v = Value::Bool(i % 3 == 0);
            break;
          case FeatureType::kInt32:
            v = Value::Int32(static_cast<int32_t>(rng()));
            break;
          case FeatureType::kInt64:
            v = Value::Int64(static_cast<int64_t>(rng()));
            break;
          case FeatureType::kTimestamp:
            v = Value::Time(kBase + static_cast<int64_t>(i) * 17);
            break;
          case FeatureType::kFloat32:
            v = Value::Float32(static_cast<float>(i) / 3.0f);
            break;
          case FeatureType::kFloat64:
            v = Value::Float64(std::ldexp(static_cast<double>(rng() >> 11), -53));
            break;
          case FeatureType::kString:
            v = Value::String(i % 50 == 1 ? "" : "s,\"" + std::to_string(i));
            break;
          case FeatureType::kBytes:
            v = Value::Bytes(std::string("\0\xff", 2) + std::to_string(i));
            break;
          case FeatureType::kFloat32Vector:
            v = Value::Vector({float(i), -float(i), 0.5f});
            break;
        }
      cols[k].Append(v);
    }
  }
  TempDir dir;
  std::string path = dir.path("w.parquet");
  ASSERT_OK(WriteParquetFile(path, schema, cols, {200'000, n}));
  auto file = UNWRAP(parquet::ParquetFile::Open(path));
  ASSERT_EQ(file->row_groups(), 2u);
  std::vector<std::string> names;
  for (const auto& c : schema) names.push_back(c.name);
  Rows r = ReadAll(OpenRecordSource(path, SourceFormat::kParquet), names, false);
  ASSERT_OK(r.status);
  ASSERT_EQ(r.rows.size(), n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < cols.size(); ++k) {
      const Field& f = r.rows[i][k];
      const Column& c = cols[k];
      SCOPED_TRACE("row " + std::to_string(i) + " column " + schema[k].name);
      if (c.is_null(i)) {
        ASSERT_EQ(f.kind, Field::kNull);
        continue;
      }
      switch (c.type) {
        case FeatureType::kBool:
          ASSERT_EQ(f.text, c.ints[i] ? "true" : "false");
          break;
        case FeatureType::kInt32:
        case FeatureType::kInt64:
        case FeatureType::kTimestamp:
          ASSERT_EQ(Int(f), c.ints[i]);
          break;
        case FeatureType::kFloat32:  // shortest float text: exact as a float
          ASSERT_EQ(std::stof(f.text), static_cast<float>(c.doubles[i]));
          break;
        case FeatureType::kFloat64:
          ASSERT_EQ(std::stod(f.text), c.doubles[i]);
          break;
        case FeatureType::kString:
          ASSERT_EQ(f.kind, Field::kString);
          ASSERT_EQ(f.text, c.strings[i]);
          break;
        case FeatureType::kBytes: {
          std::string hex = "0x00ff";
          for (char ch : c.strings[i].substr(2)) hex += "3" + std::string(1, ch);  // ASCII digits
          ASSERT_EQ(f.text, hex);
          break;
        }
        case FeatureType::kFloat32Vector: {
          std::string want = "[";
          AppendFloat(float(i), &want);
          want += ",";
          AppendFloat(-float(i), &want);
          ASSERT_EQ(f.text, want + ",0.5]");
        } break;
      }
    }
  }
}

// Damage anywhere: an error or values, never a crash, an endless loop or a huge allocation;
// truncation always an error.
TEST(ParquetDamage, FlipsAndTruncationsNeverCrash) {
  for (const std::string& name :
       {std::string("duckdb_zstd.parquet"), std::string("polars_snappy.parquet"), std::string("duckdb_v2.parquet")}) {
    const std::string intact = ReadFile(kFixtures + name);
    std::mt19937_64 rng(42);
    int errors = 0;
    for (int t = 0; t < 400; ++t) {
      std::string data = intact;
      // Most damage lands in the metadata and page headers, where a reader must not trust lengths.
      size_t at = t % 2 ? data.size() - 1 - rng() % std::min<size_t>(data.size(), 3000) : rng() % data.size();
      data[at] = static_cast<char>(data[at] ^ (1 << (rng() % 8)));
      Rows r = ReadAll(ParquetSourceFromString(data, name), kColumns, true);
      errors += !r.status.ok();
    }
    for (size_t len = 0; len < intact.size(); len += 1 + intact.size() / 300) {
      Rows r = ReadAll(ParquetSourceFromString(intact.substr(0, len), name), kColumns, true);
      EXPECT_FALSE(r.status.ok()) << name << " truncated to " << len;
    }
    EXPECT_GT(errors, 0) << name;
  }
}

// Every value of every table a reader gives, as bytes: two reads agree iff these are equal.
std::string TablesFingerprint(ParquetTableReader& reader, Status* status) {
  std::string out;
  Table t;
  for (;;) {
    Result<bool> more = reader.Next(&t);
    if (!more.ok()) {
      *status = more.status();
      return out;
    }
    if (!*more) return out;
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Array& a = t.columns[c];
      out += t.schema[c].name;
      for (int64_t i = 0; i < a.length; ++i) {
        if (a.IsNull(i)) {
          out += "N";
          continue;
        }
        switch (a.type) {
          case DataType::kBool:
            out += a.BoolAt(i) ? "T" : "F";
            break;
          case DataType::kInt32:
            out += std::to_string(a.ValueAt<int32_t>(i)) + ",";
            break;
          case DataType::kInt64:
          case DataType::kTimestamp:
            out += std::to_string(a.ValueAt<int64_t>(i)) + ",";
            break;
          case DataType::kFloat32:
            out.append(reinterpret_cast<const char*>(a.values->data()) + i * 4, 4);
            break;
          case DataType::kFloat64:
            out.append(reinterpret_cast<const char*>(a.values->data()) + i * 8, 8);
            break;
          case DataType::kString:
          case DataType::kBinary: {
            std::string_view v = a.StringAt(i);
            out += std::to_string(v.size()) + ":";
            out += v;
            break;
          }
          case DataType::kFloat32List: {
            int64_t n;
            const float* f = a.ListAt(i, &n);
            out += std::to_string(n) + ":";
            out.append(reinterpret_cast<const char*>(f), static_cast<size_t>(n) * 4);
            break;
          }
          case DataType::kList:  // written only (last_k), never read from Parquet
            out += "L";
            break;
        }
      }
    }
  }
}

// pitstore's own Parquet carries page CRCs, zstd frame checksums and a CRC of its metadata: a
// changed byte anywhere is an error or the same values, never other values. (Found: 137 of 200
// single-byte changes used to be ingested as different values.) The figures are printed for
// the README's Reliability section.
TEST(ParquetDamage, PagesOfPitstoresOwnFilesAreChecked) {
  std::vector<OutputColumn> schema = {{"id", FeatureType::kInt64},
                                      {"n", FeatureType::kInt32},
                                      {"x", FeatureType::kFloat64},
                                      {"s", FeatureType::kString},
                                      {"v", FeatureType::kFloat32Vector, 2}};
  std::vector<Column> cols;
  for (const auto& c : schema) cols.push_back(Column::Of(c.type, c.dim));
  for (int i = 0; i < 3000; ++i) {
    cols[0].Append(Value::Int64(i));
    cols[1].Append(i % 11 == 0 ? Value::Null() : Value::Int32(i * 7));
    cols[2].Append(Value::Float64(i / 8.0));
    cols[3].Append(Value::String("row " + std::to_string(i)));
    cols[4].Append(Value::Vector({float(i), 0.25f}));
  }
  TempDir dir;
  std::string path = dir.path("w.parquet");
  ASSERT_OK(WriteParquetFile(path, schema, cols, {1500, 3000}));
  const std::string intact = ReadFile(path);
  uint32_t footer_len = 0;  // little-endian, before the closing magic
  std::memcpy(&footer_len, intact.data() + intact.size() - 8, 4);
  const size_t footer_start = intact.size() - 8 - footer_len;
  std::vector<std::string> names;
  for (const auto& c : schema) names.push_back(c.name);
  Rows want = ReadAll(ParquetSourceFromString(intact, "w.parquet"), names, false);
  ASSERT_OK(want.status);
  Status st;
  const std::string want_tables = TablesFingerprint(*UNWRAP(ParquetTablesFromBuffer(intact, "w.parquet")), &st);
  ASSERT_OK(st);
  std::mt19937_64 rng(14);
  int page_flips = 0, page_refused = 0, page_wrong = 0, footer_flips = 0, footer_refused = 0, footer_wrong = 0;
  for (int t = 0; t < 600; ++t) {
    std::string data = intact;
    // Half in the pages (from the magic to the footer), half in the footer and its tail.
    size_t at = t % 2 ? 4 + rng() % (footer_start - 4) : footer_start + rng() % (intact.size() - footer_start);
    data[at] = static_cast<char>(data[at] ^ (1 + rng() % 255));
    Rows got = ReadAll(ParquetSourceFromString(data, "w.parquet"), names, false);
    bool wrong = got.status.ok() && got.rows.size() != want.rows.size();
    for (size_t i = 0; got.status.ok() && !wrong && i < got.rows.size(); ++i)
      for (size_t k = 0; k < names.size() && !wrong; ++k)
        wrong = got.rows[i][k].kind != want.rows[i][k].kind || got.rows[i][k].text != want.rows[i][k].text;
    bool refused = !got.status.ok();
    auto tables = ParquetTablesFromBuffer(data, "w.parquet");
    if (tables.ok()) {
      Status table_status;
      std::string got_tables = TablesFingerprint(**tables, &table_status);
      if (table_status.ok())
        wrong |= got_tables != want_tables;
      else
        refused = true;
    } else {
      refused = true;
    }
    if (at < footer_start) {
      ++page_flips;
      page_refused += refused;
      page_wrong += wrong;
      EXPECT_FALSE(wrong) << "a changed byte at offset " << at << " (in a page) read as other values";
    } else {
      ++footer_flips;
      footer_refused += refused;
      footer_wrong += wrong;
      EXPECT_FALSE(wrong) << "a changed byte at offset " << at << " (in the footer) read as other values";
    }
  }
  std::printf(
      "pages: %d flips, %d refused, %d read as other values; footer: %d flips, %d refused, %d read as other values\n",
      page_flips, page_refused, page_wrong, footer_flips, footer_refused, footer_wrong);
}

// Spark's legacy timestamps: INT96 (nanoseconds of the day, then the Julian day), in a file
// built here from pitstore's metadata writer and a hand-made page.
TEST(ParquetLegacy, Int96TimestampsReadAsMicroseconds) {
  using namespace parquet;
  FileMetaData m;
  SchemaElement root;
  root.name = "spark_schema";
  root.num_children = 1;
  SchemaElement ts;
  ts.name = "event_ts";
  ts.type = kInt96;
  ts.repetition = kRequired;
  m.schema = {root, ts};
  // 2023-11-14T22:13:20.000001Z and 1969-12-31T23:59:59.5Z (before the epoch).
  std::string values;
  auto put96 = [&](int64_t nanos_of_day, int32_t julian_day) {
    values.append(reinterpret_cast<const char*>(&nanos_of_day), 8);
    values.append(reinterpret_cast<const char*>(&julian_day), 4);
  };
  put96(80'000'000'001'000LL, 2'460'263);  // 22:13:20.000001 on Julian day 2460263 (2023-11-14)
  put96(86'399'500'000'000LL, 2'440'587);  // 23:59:59.5 on 1969-12-31
  PageHeader h;
  h.type = kDataPage;
  h.num_values = 2;
  h.uncompressed_size = h.compressed_size = static_cast<int32_t>(values.size());
  std::string page = SerializePageHeader(h) + values;
  std::string file = "PAR1";
  ColumnMetaData c;
  c.type = kInt96;
  c.encodings = {kPlain};
  c.path = {"event_ts"};
  c.codec = kUncompressed;
  c.num_values = 2;
  c.data_page_offset = 4;
  c.total_compressed_size = c.total_uncompressed_size = static_cast<int64_t>(page.size());
  RowGroup g;
  g.columns = {c};
  g.num_rows = 2;
  m.row_groups = {g};
  m.num_rows = 2;
  file += page;
  std::string meta = SerializeFileMetaData(m);
  uint32_t len = static_cast<uint32_t>(meta.size());
  file += meta + std::string(reinterpret_cast<const char*>(&len), 4) + "PAR1";
  Rows r = ReadAll(ParquetSourceFromString(file, "spark.parquet"), {"event_ts"}, false);
  ASSERT_OK(r.status);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0][0].kind, Field::kTimestamp);
  EXPECT_EQ(Int(r.rows[0][0]), kBase + 1);
  EXPECT_EQ(Int(r.rows[1][0]), -500'000);
}

// Ingestion reads Parquet numbers as values (no text round trip) with the same rules: a
// DOUBLE column cannot fill an int64 feature, and the error names the row and column.
TEST(ParquetIngest, AWrongTypeNamesRowAndColumn) {
  TempDir dir;
  auto store = FixtureStore(dir, {{"f_double", FeatureType::kInt64, 0, ""}});
  auto src = UNWRAP(OpenRecordSource(kFixtures + "polars_zstd.parquet", SourceFormat::kParquet));
  IngestOptions o;
  o.ignore_extra_columns = true;
  IngestReport report;
  Status st = Ingest(*store, "fx", *src, o, &report);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("polars_zstd.parquet: row 2, column 'f_double': feature 'f_double' (int64): "
                              "expected an integer, got 0.25"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(report.records_committed, 0u);
}

}  // namespace
}  // namespace pitstore::io

namespace pitstore::io {
namespace {

// Every peer's file read as typed tables stores exactly what its records store (the same
// views, every version of every key), and the tables decode only the columns the view uses.
TEST(ParquetTables, EveryPeerFileIngestsAsItsRecordsDo) {
  std::vector<FeatureDef> features = {
      {"f_double", FeatureType::kFloat64, 0, ""}, {"f_float", FeatureType::kFloat32, 0, ""},
      {"f_int", FeatureType::kInt32, 0, ""},      {"f_bool", FeatureType::kBool, 0, ""},
      {"f_str", FeatureType::kString, 0, ""},     {"f_date", FeatureType::kTimestamp, 0, ""},
      {"emb", FeatureType::kFloat32Vector, 4, ""}};
  for (const std::string& name : kFixtureFiles) {
    TempDir dir;
    auto store = FixtureStore(dir, features);
    FeatureViewDef v = UNWRAP(store->GetView("fx"));
    v.name = "fx_records";
    ASSERT_OK(store->DefineView(v));
    IngestOptions o;
    o.ignore_extra_columns = true;  // f_dec (DECIMAL) and the others: never decoded
    o.batch_rows = 700;
    IngestReport by_tables, by_records;
    auto tables = UNWRAP(OpenParquetTables(kFixtures + name));
    ASSERT_OK(IngestTables(*store, "fx", *tables, name, o, &by_tables));
    auto records = UNWRAP(OpenRecordSource(kFixtures + name, SourceFormat::kParquet));
    ASSERT_OK(Ingest(*store, "fx_records", *records, o, &by_records));
    EXPECT_EQ(by_tables.records_committed, by_records.records_committed) << name;
    EXPECT_EQ(by_tables.batches_committed, by_records.batches_committed) << name;
    for (int64_t u = 0; u < 50; ++u) {
      auto a = UNWRAP(store->History("fx", {u}));
      auto b = UNWRAP(store->History("fx_records", {u}));
      ASSERT_EQ(a.size(), b.size()) << name << " user " << u;
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].event_ts, b[i].event_ts);
        EXPECT_EQ(a[i].system_ts, b[i].system_ts);
        EXPECT_EQ(a[i].values, b[i].values) << name << " user " << u << " version " << i;
      }
    }
  }
}

TEST(ParquetTables, AWrongTypeOrAnUnreadableColumnIsNamed) {
  TempDir dir;
  auto store = FixtureStore(dir, {{"f_double", FeatureType::kInt64, 0, ""}});
  IngestOptions o;
  o.ignore_extra_columns = true;
  IngestReport report;
  auto tables = UNWRAP(OpenParquetTables(kFixtures + "polars_zstd.parquet"));
  Status st = IngestTables(*store, "fx", *tables, "polars_zstd.parquet", o, &report);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("polars_zstd.parquet: column 'f_double' (feature 'f_double', int64): float64 values "
                              "cannot be read as int64"),
            std::string::npos)
      << st.ToString();
  TempDir dir2;
  auto store2 = FixtureStore(dir2, {{"f_dec", FeatureType::kFloat64, 0, ""}});
  tables = UNWRAP(OpenParquetTables(kFixtures + "duckdb_zstd.parquet"));
  st = IngestTables(*store2, "fx", *tables, "duckdb_zstd.parquet", o, &report);
  EXPECT_EQ(st.code(), Status::Code::kNotSupported) << st.ToString();
  EXPECT_NE(st.message().find("column 'f_dec' holds DECIMAL"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace pitstore::io
