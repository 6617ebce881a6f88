// Writes the seed corpora under fuzz/corpus/ (run from the repository root):
//   build-fuzz/fuzz/fuzz_make_seeds
// decoders/: one encoded sample per decoder; open_store/: small real stores.
#include <filesystem>
#include <fstream>
#include <string>

#include "key_codec.h"
#include "pitstore/store.h"
#include "registry.h"
#include "run.h"
#include "store_format.h"

using namespace pitstore;

static void Write(const std::string& path, char selector, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.put(selector);
  out << bytes;
}

int main() {
  std::filesystem::create_directories("fuzz/corpus/decoders");
  std::filesystem::create_directories("fuzz/corpus/open_store");
  Run run;
  run.view_id = 1;
  FeatureType types[] = {FeatureType::kBool,    FeatureType::kInt32,     FeatureType::kInt64,
                         FeatureType::kFloat32, FeatureType::kFloat64,   FeatureType::kString,
                         FeatureType::kBytes,   FeatureType::kTimestamp, FeatureType::kFloat32Vector};
  for (FeatureType t : types) run.columns.push_back(Column::Of(t, t == FeatureType::kFloat32Vector ? 3 : 0));
  for (int i = 0; i < 150; ++i) {  // pages of more than 64 rows have time chunks with restarts
    run.keys.push_back(EncodeEntityKey({int64_t{i / 3}}));
    run.event_ts.push_back(i);
    run.system_ts.push_back(100 + i);
    run.seq.push_back(static_cast<uint64_t>(i));
    Value vals[] = {Value::Bool(i % 2),       Value::Int32(i),         Value::Int64(-i),
                    Value::Float32(i / 2.0f), Value::Float64(i / 3.0), Value::String(i % 4 ? "ab" : ""),
                    Value::Bytes("x"),        Value::Time(i * 7),      Value::Vector({1, 2, float(i)})};
    for (size_t c = 0; c < run.columns.size(); ++c) run.columns[c].Append(i % 5 == c % 5 ? Value::Null() : vals[c]);
  }
  Write("fuzz/corpus/decoders/rows", 0, EncodeRowsBlock(run));
  Write("fuzz/corpus/decoders/segment", 1, EncodeSegment(run, 0, PageFormat{4, 3, false}));
  Write("fuzz/corpus/decoders/segment_restarts", 1, EncodeSegment(run, 0, PageFormat{100, 3, true}));
  Write("fuzz/corpus/decoders/segment_checked", 2, EncodeSegment(run, 0, PageFormat{70, 3, true}));
  // Keys of one int64 as differences (KEY_INT64_RUNS), runs of 3 rows; then runs of 7 (a second
  // length varint) of keys 100,003 apart (differences of several bytes).
  Write("fuzz/corpus/decoders/segment_int64_keys", 1, EncodeSegment(run, 0, PageFormat{100, 3, true, true}));
  Write("fuzz/corpus/decoders/segment_int64_keys_checked", 2, EncodeSegment(run, 0, PageFormat{40, 0, true, true}));
  Run wide = run;
  for (size_t i = 0; i < wide.keys.size(); ++i) wide.keys[i] = EncodeEntityKey({static_cast<int64_t>(i / 7) * 100'003});
  Write("fuzz/corpus/decoders/segment_int64_keys_wide", 1, EncodeSegment(wide, 0, PageFormat{100, 3, true, true}));
  // Time chunks as frames (FRAMES): groups of 64 rows and a short last one.
  Write("fuzz/corpus/decoders/segment_frames", 1, EncodeSegment(wide, 0, PageFormat{100, 3, false, true, true}));
  Write("fuzz/corpus/decoders/segment_frames_checked", 2, EncodeSegment(run, 0, PageFormat{70, 0, false, true, true}));
  // Frames of width 0 (one value) and 64 (the int64 extremes, read byte by byte).
  Run extremes = wide;
  for (size_t i = 0; i < extremes.size(); ++i) extremes.event_ts[i] = i < 64 ? 7 : (i % 2 ? INT64_MAX : INT64_MIN);
  Write("fuzz/corpus/decoders/segment_frames_extremes", 1,
        EncodeSegment(extremes, 0, PageFormat{150, 0, false, true, true}));
  Registry reg;
  reg.entities.push_back({"user", {{"user_id", KeyType::kInt64}}, "d"});
  Write("fuzz/corpus/decoders/registry", 3, EncodeRegistry(reg));
  Write("fuzz/corpus/decoders/key", 4, EncodeEntityKey({int64_t{7}, std::string("a\0b", 3)}));
  Write("fuzz/corpus/decoders/commit", 6, EncodeCommit({3, 99, 0, 1, {24, 48}}));

  std::string path = "/tmp/pitstore-seed.pit";
  for (const char* s : {"", "-index", "-index-lock"}) std::filesystem::remove(path + s);
  {
    auto store = Store::Open(path).value();
    (void)store->DefineEntity({"user", {{"user_id", KeyType::kInt64}}, ""});
    (void)store->DefineEntity({"item", {{"item_id", KeyType::kString}}, ""});
    (void)store->DefineView({"v",
                             {"user", "item"},
                             {{"n", FeatureType::kInt64, 0, ""}, {"s", FeatureType::kString, 0, ""}},
                             0,
                             "",
                             {},
                             "",
                             "",
                             ""});
    for (int b = 0; b < 3; ++b) {
      WriteBatch batch;
      for (int k = 0; k < 6; ++k)
        batch.Add({int64_t{k}, std::to_string(k)}, b * 10 + k,
                  {Value::Int64(b), k % 2 ? Value::Null() : Value::String("x")});
      (void)store->Append("v", batch);
    }
    std::filesystem::copy_file(path, "fuzz/corpus/open_store/rows", std::filesystem::copy_options::overwrite_existing);
    (void)store->Compact(CompactOptions{true});
  }
  std::filesystem::copy_file(path, "fuzz/corpus/open_store/compacted",
                             std::filesystem::copy_options::overwrite_existing);
  return 0;
}
