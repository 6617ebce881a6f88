// Tables across the Arrow C Data Interface: every type with nulls out and back, zero-copy where
// the layout allows (the imported buffers are the producer's), streams, the formats read with a
// copy (narrow and unsigned ints, other time units, dates, slices), the ones refused, and the
// release callbacks called exactly once.
#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>

#include "pitstore/io/arrow_c.h"
#include "pitstore/io/table.h"

namespace pitstore::io {
namespace {

Table EveryType(int64_t rows) {
  std::vector<ArrayBuilder> b = {
      ArrayBuilder(DataType::kBool),    ArrayBuilder(DataType::kInt32),   ArrayBuilder(DataType::kInt64),
      ArrayBuilder(DataType::kFloat32), ArrayBuilder(DataType::kFloat64), ArrayBuilder(DataType::kTimestamp),
      ArrayBuilder(DataType::kString),  ArrayBuilder(DataType::kBinary),  ArrayBuilder(DataType::kFloat32List, 3)};
  for (int64_t i = 0; i < rows; ++i) {
    for (size_t c = 0; c < b.size(); ++c) {
      if ((i + static_cast<int64_t>(c)) % 5 == 0) {
        b[c].AppendNull();
        continue;
      }
      float v[3] = {float(i), 0.5f, -float(c)};
      switch (c) {
        case 0:
          b[c].AppendInt(i % 2);
          break;
        case 3:
        case 4:
          b[c].AppendDouble(i + 0.25);
          break;
        case 6:
        case 7:
          b[c].AppendString(std::string(static_cast<size_t>(i % 4), static_cast<char>('a' + i % 26)));
          break;
        case 8:
          b[c].AppendList(v, 3);
          break;
        default:
          b[c].AppendInt(i * 1'000'003 - 7);
      }
    }
  }
  Table t;
  const char* names[] = {"b", "i32", "i64", "f32", "f64", "ts", "s", "bin", "vec"};
  for (size_t c = 0; c < b.size(); ++c) {
    Array a = b[c].Finish();
    t.schema.push_back({names[c], a.type, a.dim});
    t.columns.push_back(std::move(a));
  }
  t.rows = rows;
  return t;
}

// Every value through the engine's Column form, so two tables compare by value.
void ExpectSameValues(const Table& want, const Table& got) {
  ASSERT_EQ(want.rows, got.rows);
  ASSERT_EQ(want.columns.size(), got.columns.size());
  const FeatureType types[] = {FeatureType::kBool,    FeatureType::kInt32,   FeatureType::kInt64,
                               FeatureType::kFloat32, FeatureType::kFloat64, FeatureType::kTimestamp,
                               FeatureType::kString,  FeatureType::kBytes,   FeatureType::kFloat32Vector};
  for (size_t c = 0; c < want.columns.size(); ++c) {
    EXPECT_EQ(want.schema[c].name, got.schema[c].name);
    EXPECT_EQ(got.columns[c].null_count, want.columns[c].null_count) << want.schema[c].name;
    Column w = ColumnFromArray(want.columns[c], types[c], 3, "want").value();
    Column g = ColumnFromArray(got.columns[c], types[c], 3, "got").value();
    for (int64_t i = 0; i < want.rows; ++i)
      EXPECT_EQ(w.Get(static_cast<size_t>(i)), g.Get(static_cast<size_t>(i))) << want.schema[c].name << " row " << i;
  }
}

TEST(ArrowC, EveryTypeOutAndBackWithoutACopy) {
  Table t = EveryType(103);
  ArrowSchema schema;
  ArrowArray array;
  ASSERT_TRUE(ExportTable(t, &schema, &array).ok());
  EXPECT_STREQ(schema.format, "+s");
  EXPECT_STREQ(schema.children[5]->format, "tsu:UTC");
  EXPECT_STREQ(schema.children[8]->format, "+w:3");
  EXPECT_STREQ(schema.children[8]->children[0]->format, "f");
  auto got = ImportTable(schema, &array);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(array.release, nullptr);  // moved from
  ExpectSameValues(t, *got);
  for (size_t c = 0; c < t.columns.size(); ++c)
    EXPECT_EQ(got->columns[c].values->data(), t.columns[c].values->data()) << "copied: " << t.schema[c].name;
  schema.release(&schema);
  // The imported table keeps the exported memory alive after the original is gone.
  Table copy = *got;
  t = Table();
  got = Table();
  Column s = ColumnFromArray(copy.columns[6], FeatureType::kString, 0, "s").value();
  EXPECT_EQ(s.Get(7), Value::String("hhh"));
}

TEST(ArrowC, StreamsCarryEveryBatch) {
  std::vector<Table> tables = {EveryType(10), EveryType(0), EveryType(77)};
  ArrowArrayStream stream;
  ASSERT_TRUE(ExportStream(ReaderOfTables(tables[0].schema, tables), &stream).ok());
  auto reader = ImportStream(&stream);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(stream.release, nullptr);
  EXPECT_EQ((*reader)->schema().size(), 9u);
  Table t;
  for (const Table& want : tables) {
    ASSERT_TRUE((*reader)->Next(&t).value());
    ExpectSameValues(want, t);
  }
  EXPECT_FALSE((*reader)->Next(&t).value());
}

// A hand-made producer, as another library would hand its arrays over.
struct Producer {
  static inline int releases = 0;
  std::vector<std::string> formats;
  std::vector<ArrowSchema> child_schemas;
  std::vector<ArrowSchema*> child_schema_ptrs;
  std::vector<ArrowArray> child_arrays;
  std::vector<ArrowArray*> child_array_ptrs;
  std::vector<std::vector<const void*>> buffers;
  ArrowSchema schema{};
  ArrowArray array{};
  const void* root_buffers[1] = {nullptr};

  static void NoRelease(ArrowSchema* s) { s->release = nullptr; }
  static void CountRelease(ArrowArray* a) {
    ++releases;
    a->release = nullptr;
  }
  void Add(std::string format, int64_t length, int64_t offset, int64_t nulls, std::vector<const void*> bufs) {
    formats.push_back(std::move(format));
    buffers.push_back(std::move(bufs));
    ArrowSchema s{};
    s.release = NoRelease;
    ArrowArray a{};
    a.length = length;
    a.offset = offset;
    a.null_count = nulls;
    a.release = [](ArrowArray* x) { x->release = nullptr; };
    child_schemas.push_back(s);
    child_arrays.push_back(a);
  }
  void Finish(int64_t rows) {
    for (size_t i = 0; i < formats.size(); ++i) {
      child_schemas[i].format = formats[i].c_str();
      child_schemas[i].name = formats[i].c_str();
      child_arrays[i].n_buffers = static_cast<int64_t>(buffers[i].size());
      child_arrays[i].buffers = buffers[i].data();
      child_schema_ptrs.push_back(&child_schemas[i]);
      child_array_ptrs.push_back(&child_arrays[i]);
    }
    schema.format = "+s";
    schema.n_children = static_cast<int64_t>(formats.size());
    schema.children = child_schema_ptrs.data();
    schema.release = NoRelease;
    array.length = rows;
    array.n_buffers = 1;
    array.buffers = root_buffers;
    array.n_children = static_cast<int64_t>(formats.size());
    array.children = child_array_ptrs.data();
    array.release = CountRelease;
  }
};

TEST(ArrowC, OtherFormatsAreConvertedAndSlicesRespected) {
  const int8_t i8[] = {-1, 2, -3, 4};
  const uint32_t u32[] = {1, 4000000000u, 3, 4};
  const int64_t ns[] = {-1, 1'999, 2'000, 5};  // floored to microseconds
  const int32_t days[] = {0, 1, -1, 20000};
  const int64_t i64[] = {10, 11, 12, 13, 14};
  const uint8_t valid[] = {0b1101};  // row 1 null
  {
    Producer p;
    p.Add("c", 4, 0, 1, {valid, i8});
    p.Add("I", 4, 0, 0, {nullptr, u32});
    p.Add("tsn:Europe/Paris", 4, 0, 0, {nullptr, ns});
    p.Add("tdD", 4, 0, 0, {nullptr, days});
    p.Add("l", 5, 1, 0, {nullptr, i64});  // a slice: rows 1..4
    p.Add("l", 4, 0, 0, {nullptr, i64});  // read in place
    p.Finish(4);
    Producer::releases = 0;
    auto t = ImportTable(p.schema, &p.array);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->columns[0].type, DataType::kInt64);
    EXPECT_TRUE(t->columns[0].IsNull(1));
    EXPECT_EQ(t->columns[0].ValueAt<int64_t>(2), -3);
    EXPECT_EQ(t->columns[1].ValueAt<int64_t>(1), 4000000000LL);
    EXPECT_EQ(t->columns[2].type, DataType::kTimestamp);
    EXPECT_EQ(t->columns[2].ValueAt<int64_t>(0), -1);  // floor(-0.001 us)
    EXPECT_EQ(t->columns[2].ValueAt<int64_t>(1), 1);
    EXPECT_EQ(t->columns[2].ValueAt<int64_t>(2), 2);
    EXPECT_EQ(t->columns[3].ValueAt<int64_t>(2), -86'400'000'000LL);
    EXPECT_EQ(t->columns[4].ValueAt<int64_t>(0), 11);
    EXPECT_EQ(t->columns[4].ValueAt<int64_t>(3), 14);
    EXPECT_EQ(t->columns[5].values->data(), reinterpret_cast<const uint8_t*>(i64));
    EXPECT_EQ(Producer::releases, 0);  // the table's buffers may still point into it
    t = Table();
    EXPECT_EQ(Producer::releases, 1);
  }
  const uint64_t big[] = {1, uint64_t{1} << 63};
  for (auto [format, bufs, want] : std::vector<std::tuple<std::string, std::vector<const void*>, std::string>>{
           {"L", {nullptr, big}, "does not fit an int64"},
           {"vu", {nullptr, big}, "Arrow format 'vu' is not one pitstore reads"},
           {"d:12,2", {nullptr, big}, "Arrow format 'd:12,2'"}}) {
    Producer p;
    p.Add(format, 2, 0, 0, bufs);
    p.Finish(2);
    Producer::releases = 0;
    auto t = ImportTable(p.schema, &p.array);
    ASSERT_FALSE(t.ok()) << format;
    EXPECT_TRUE(t.status().IsInvalidArgument());
    EXPECT_NE(t.status().message().find(want), std::string::npos) << t.status().ToString();
    EXPECT_EQ(Producer::releases, 1) << "released once, on error too";
  }
}

TEST(ArrowC, ColumnsConvertToFeatureTypesOrSayWhyNot) {
  ArrayBuilder ints(DataType::kInt64);
  ints.AppendInt(5);
  ints.AppendNull();
  ints.AppendInt(int64_t{1} << 40);
  Array a = ints.Finish();
  Column c = ColumnFromArray(a, FeatureType::kInt64, 0, "x").value();
  EXPECT_EQ(c.Get(0), Value::Int64(5));
  EXPECT_TRUE(c.is_null(1));
  auto narrow = ColumnFromArray(a, FeatureType::kInt32, 0, "feature 'x'");
  ASSERT_FALSE(narrow.ok());
  EXPECT_NE(narrow.status().message().find("feature 'x', row 2: 1099511627776 does not fit an int32"),
            std::string::npos);
  auto wrong = ColumnFromArray(a, FeatureType::kString, 0, "feature 'x'");
  EXPECT_NE(wrong.status().message().find("feature 'x': int64 values cannot be read as string"), std::string::npos)
      << wrong.status().ToString();
  ArrayBuilder lists(DataType::kFloat32List, 2);
  float v[2] = {1, 2};
  lists.AppendList(v, 2);
  auto dim = ColumnFromArray(lists.Finish(), FeatureType::kFloat32Vector, 3, "feature 'e'");
  EXPECT_NE(dim.status().message().find("a list of 2 floats where the feature has dim 3"), std::string::npos);
  EXPECT_TRUE(KeyColumnFromArray(a, KeyType::kInt64, "key 'user_id'").status().IsInvalidArgument());  // a null key
}

}  // namespace
}  // namespace pitstore::io

namespace pitstore::io {
namespace {

// Runs of nulls in bool columns (the values bitmap grows by bytes the nulls never wrote).
TEST(ArrowC, BoolColumnsWithLongRunsOfNulls) {
  ArrayBuilder b(DataType::kBool);
  Column c = Column::Of(FeatureType::kBool);
  for (int i = 0; i < 300; ++i) {
    bool null = (i / 50) % 2 == 0;  // 50 nulls, 50 values, ...
    if (null) {
      b.AppendNull();
      c.AppendNull();
    } else {
      b.AppendInt(i % 3 == 0);
      c.Append(Value::Bool(i % 3 == 0));
    }
  }
  for (const Array& a : {b.Finish(), ArrayFromColumn(c)}) {
    ASSERT_EQ(a.length, 300);
    EXPECT_EQ(a.null_count, 150);
    Column back = ColumnFromArray(a, FeatureType::kBool, 0, "b").value();
    for (size_t i = 0; i < 300; ++i) EXPECT_EQ(back.Get(i), c.Get(i)) << i;
  }
}

// A stream that announces 64-bit offsets gets them in every batch, whatever its tables hold.
TEST(ArrowC, StreamBatchesHaveTheOffsetWidthsTheSchemaAnnounces) {
  Table t = EveryType(20);
  std::vector<ColumnSchema> schema = t.schema;
  schema[6].large_offsets = true;  // "U"
  ArrowArrayStream stream;
  ASSERT_TRUE(ExportStream(ReaderOfTables(schema, {t, t}), &stream).ok());
  ArrowSchema s;
  ASSERT_EQ(stream.get_schema(&stream, &s), 0);
  EXPECT_STREQ(s.children[6]->format, "U");
  s.release(&s);
  auto reader = ImportStream(&stream).value();
  Table got;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(reader->Next(&got).value());
    EXPECT_TRUE(got.columns[6].large_offsets);
    ExpectSameValues(t, got);
  }
}

TEST(ArrowC, ImportRefusesNullsInListsAndTimesOutOfRange) {
  const float floats[] = {1, 2, 3, 4};
  const uint8_t one_null[] = {0b1101};
  const int64_t huge[] = {int64_t{1} << 50};
  {
    Producer p;
    p.Add("+w:2", 2, 0, 0, {nullptr});
    p.Finish(2);
    ArrowSchema child_schema{};
    child_schema.format = "f";
    child_schema.release = Producer::NoRelease;
    ArrowSchema* child_schemas[] = {&child_schema};
    p.child_schemas[0].n_children = 1;
    p.child_schemas[0].children = child_schemas;
    const void* child_buffers[] = {one_null, floats};
    ArrowArray child{};
    child.length = 4;
    child.null_count = 1;
    child.n_buffers = 2;
    child.buffers = child_buffers;
    child.release = [](ArrowArray* x) { x->release = nullptr; };
    ArrowArray* children[] = {&child};
    p.child_arrays[0].n_children = 1;
    p.child_arrays[0].children = children;
    auto t = ImportTable(p.schema, &p.array);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("a null inside a list of floats"), std::string::npos) << t.status().ToString();
  }
  {
    Producer p;
    p.Add("tss:", 1, 0, 0, {nullptr, huge});  // 2^50 seconds: beyond int64 microseconds
    p.Finish(1);
    auto t = ImportTable(p.schema, &p.array);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("beyond the range"), std::string::npos) << t.status().ToString();
  }
  {
    Producer p;  // a root struct whose null count is unknown (-1) and whose row 1 is null
    p.Add("l", 2, 0, 0, {nullptr, huge});
    p.Finish(2);
    p.root_buffers[0] = one_null;
    p.array.null_count = -1;
    auto t = ImportTable(p.schema, &p.array);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("null rows"), std::string::npos) << t.status().ToString();
  }
}

// A producer that fails once is not asked again: the first error stays.
TEST(ArrowC, AStreamErrorStays) {
  struct Failing : TableReader {
    std::vector<ColumnSchema> s{{"x", DataType::kInt64}};
    int calls = 0;
    const std::vector<ColumnSchema>& schema() const override { return s; }
    Result<bool> Next(Table*) override {
      ++calls;
      return Status::IOError("disk gone");
    }
  };
  auto failing = std::make_unique<Failing>();
  Failing* f = failing.get();
  ArrowArrayStream stream;
  ASSERT_TRUE(ExportStream(std::move(failing), &stream).ok());
  ArrowArray out;
  EXPECT_EQ(stream.get_next(&stream, &out), EIO);
  EXPECT_EQ(stream.get_next(&stream, &out), EIO);
  EXPECT_EQ(f->calls, 1);
  EXPECT_NE(std::string(stream.get_last_error(&stream)).find("disk gone"), std::string::npos);
  stream.release(&stream);
}

}  // namespace
}  // namespace pitstore::io
