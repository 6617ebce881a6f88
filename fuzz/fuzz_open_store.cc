// A whole data file from the fuzzer: written to disk, opened read-write (which recovers or
// rebuilds the index), then every view read through every path (latest, as-of, history, the
// join, a scan), then verified and compacted. Any outcome
// but a crash, hang or leak is fine; a clean open must also verify.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "pitstore/store.h"

using namespace pitstore;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    std::string d = (std::filesystem::temp_directory_path() / ("pitstore-fuzz-" + std::to_string(getpid()))).string();
    std::filesystem::create_directories(d);
    return d;
  }();
  std::string path = dir + "/f.pit";
  for (const char* s : {"", "-index", "-index-lock"}) std::filesystem::remove(path + s);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  Options o;
  o.create_if_missing = false;
  o.block_cache_bytes = 1 << 20;
  auto store = Store::Open(path, o);
  if (!store.ok()) return 0;
  auto views = (*store)->ListViews();
  if (!views.ok()) return 0;
  for (const std::string& view : *views) {
    auto def = (*store)->GetView(view);
    if (!def.ok()) continue;
    JoinLabels labels;  // the same keys again, through the join
    bool join_ok = true;
    for (int64_t k = -2; k < 40; ++k) {
      EntityKey key;
      size_t part = 0;
      for (const std::string& e : def->entities) {
        auto ent = (*store)->GetEntity(e);
        if (!ent.ok()) break;
        for (const JoinKeyDef& j : ent->join_keys) {
          bool is_int = j.type == KeyType::kInt64;
          key.push_back(is_int ? KeyPart(k) : KeyPart(std::to_string(k)));
          if (labels.keys.size() <= part)
            labels.keys.push_back(Column::Of(is_int ? FeatureType::kInt64 : FeatureType::kString));
          if (labels.keys[part].type != (is_int ? FeatureType::kInt64 : FeatureType::kString)) join_ok = false;
          labels.keys[part++].Append(is_int ? Value::Int64(k) : Value::String(std::to_string(k)));
        }
      }
      labels.times.push_back(k * 1000);
      (void)(*store)->Latest(view, key);
      (void)(*store)->AsOf(view, key, k * 1000);
      (void)(*store)->History(view, key);
    }
    if (join_ok) (void)(*store)->AsOfJoin(view, labels);
    size_t rows = 0;
    (void)(*store)->Scan(view, [&](const EntityKey&, const VersionedRow&) { return ++rows < 100000; });
    (void)(*store)->ListBlocks(view);
  }
  (void)(*store)->Verify();
  (void)(*store)->Compact(CompactOptions{true});
  return 0;
}
