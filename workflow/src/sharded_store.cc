#include "pitstore/workflow/sharded_store.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pitstore/env.h"
#include "pitstore/workflow/entity_keys.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace pitstore::workflow {

int64_t SparkXxHash64(const std::vector<KeyPart>& parts) {
  uint64_t hash = 42;  // Spark's seed for xxhash64
  for (const KeyPart& part : parts) {
    if (const int64_t* i = std::get_if<int64_t>(&part)) {
      unsigned char bytes[8];
      uint64_t u = static_cast<uint64_t>(*i);
      for (int b = 0; b < 8; ++b) bytes[b] = static_cast<unsigned char>(u >> (8 * b));  // little-endian, any host
      hash = XXH64(bytes, sizeof bytes, hash);
    } else {
      const std::string& s = std::get<std::string>(part);
      hash = XXH64(s.data(), s.size(), hash);
    }
  }
  return static_cast<int64_t>(hash);
}

uint32_t ShardOfKey(const std::vector<KeyPart>& parts, uint32_t shards) {
  int64_t n = shards;
  int64_t r = SparkXxHash64(parts) % n;  // pmod: Spark's remainder is signed, then made positive
  return static_cast<uint32_t>(r < 0 ? r + n : r);
}

namespace {

using nlohmann::json;

Status Malformed(const std::string& file, const std::string& what) {
  return Status::InvalidArgument(file + ": not a shard manifest: " + what + " (format/SHARDS.md)");
}

Result<uint64_t> Unsigned(const json& object, const char* field, const std::string& file, const std::string& where) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_number_unsigned())
    return Malformed(file, where + "'" + field + "' must be a non-negative integer");
  return it->get<uint64_t>();
}

Result<int64_t> Signed(const json& object, const char* field, const std::string& file, const std::string& where) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_number_integer())
    return Malformed(file, where + "'" + field + "' must be an integer");
  return it->get<int64_t>();
}

Result<std::string> Text(const json& object, const char* field, const std::string& file, const std::string& where) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return Malformed(file, where + "'" + field + "' must be a string");
  return it->get<std::string>();
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound(path + ": " + std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

// The join keys of a feature view, or of an aggregation view's source.
Result<std::vector<JoinKeyDef>> KeysOfView(Store& store, const std::string& view) {
  Result<FeatureViewDef> def = store.GetView(view);
  if (!def.ok()) {
    Result<AggregationViewDef> aggregation = store.GetAggregationView(view);
    if (!aggregation.ok()) return def.status();
    def = store.GetView(aggregation->source);
    if (!def.ok()) return def.status();
  }
  return ViewKeyColumns(store, *def);
}

}  // namespace

Result<ShardManifest> ReadShardManifest(const std::string& path) {
  std::string file = IsDirectory(path) ? path + "/MANIFEST" : path;
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound(file + ": no shard manifest");
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Malformed(file, "not a JSON object");
  ShardManifest m;
  size_t slash = file.rfind('/');
  m.directory = slash == std::string::npos ? "." : file.substr(0, slash);
  PITSTORE_ASSIGN_OR_RETURN(std::string format, Text(doc, "format", file, ""));
  if (format != "pitstore-shards") return Malformed(file, "'format' is '" + format + "', not 'pitstore-shards'");
  PITSTORE_ASSIGN_OR_RETURN(uint64_t version, Unsigned(doc, "version", file, ""));
  if (version != 1)
    return Status::NotSupported(file + ": shard manifest version " + std::to_string(version) +
                                " (this build reads version 1)");
  PITSTORE_ASSIGN_OR_RETURN(std::string hash, Text(doc, "hash", file, ""));
  if (hash != "spark-xxhash64-pmod") return Status::NotSupported(file + ": shard hash '" + hash + "'");
  PITSTORE_ASSIGN_OR_RETURN(m.generation, Unsigned(doc, "generation", file, ""));
  auto keys = doc.find("shard_keys");
  if (keys == doc.end() || !keys->is_array() || keys->empty())
    return Malformed(file, "'shard_keys' must be a non-empty array of join key names");
  for (const json& k : *keys) {
    if (!k.is_string()) return Malformed(file, "'shard_keys' must hold strings");
    m.shard_keys.push_back(k.get<std::string>());
  }
  auto shards = doc.find("shards");
  if (shards == doc.end() || !shards->is_array() || shards->empty())
    return Malformed(file, "'shards' must be a non-empty array");
  for (size_t i = 0; i < shards->size(); ++i) {
    const json& s = (*shards)[i];
    std::string where = "shards[" + std::to_string(i) + "].";
    if (!s.is_object()) return Malformed(file, where + " must be an object");
    ShardEntry e;
    PITSTORE_ASSIGN_OR_RETURN(uint64_t shard, Unsigned(s, "shard", file, where));
    if (shard != i)
      return Malformed(file, where + "'shard' is " + std::to_string(shard) + ", expected " + std::to_string(i) +
                                 " (shards are listed in order)");
    e.shard = static_cast<uint32_t>(shard);
    PITSTORE_ASSIGN_OR_RETURN(e.path, Text(s, "path", file, where));
    if (e.path.empty() || e.path[0] == '/' || e.path.find("..") != std::string::npos)
      return Malformed(file, where + "'path' must be relative and inside the manifest's directory");
    PITSTORE_ASSIGN_OR_RETURN(e.rows, Unsigned(s, "rows", file, where));
    PITSTORE_ASSIGN_OR_RETURN(e.bytes, Unsigned(s, "bytes", file, where));
    PITSTORE_ASSIGN_OR_RETURN(e.checksum, Text(s, "checksum", file, where));
    PITSTORE_ASSIGN_OR_RETURN(e.min_event_ts, Signed(s, "min_event_ts", file, where));
    PITSTORE_ASSIGN_OR_RETURN(e.max_event_ts, Signed(s, "max_event_ts", file, where));
    PITSTORE_ASSIGN_OR_RETURN(e.min_system_ts, Signed(s, "min_system_ts", file, where));
    PITSTORE_ASSIGN_OR_RETURN(e.max_system_ts, Signed(s, "max_system_ts", file, where));
    m.shards.push_back(std::move(e));
  }
  return m;
}

Result<std::string> FileChecksum(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::IOError(path + ": " + std::strerror(errno));
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  std::vector<char> buffer(1 << 20);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) XXH3_64bits_update(&state, buffer.data(), n);
  bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) return Status::IOError(path + ": read failed");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits_digest(&state)));
  return std::string(hex);
}

Result<std::unique_ptr<ShardedStore>> ShardedStore::Open(const std::string& path, const ShardedOptions& options,
                                                         const ShardedStore* current) {
  std::unique_ptr<ShardedStore> s(new ShardedStore());
  PITSTORE_ASSIGN_OR_RETURN(s->manifest_, ReadShardManifest(path));
  Options open;
  open.read_only = options.read_only;
  open.create_if_missing = false;
  std::vector<std::string> views;
  for (const ShardEntry& e : s->manifest_.shards) {
    std::string file = s->manifest_.directory + "/" + e.path;
    // A file the current generation has open is shared: a store opens once per process.
    std::shared_ptr<Store> reused;
    if (current && current->manifest_.directory == s->manifest_.directory)
      for (size_t i = 0; i < current->manifest_.shards.size() && !reused; ++i)
        if (current->manifest_.shards[i].path == e.path) reused = current->shards_[i];
    if (reused) {
      PITSTORE_ASSIGN_OR_RETURN(std::vector<std::string> names, reused->ListViews());
      if (!s->shards_.empty() && names != views)
        return Status::Corruption(file + ": shard " + std::to_string(e.shard) +
                                  " has other feature views than shard 0 (the shards of a store share definitions)");
      if (s->shards_.empty()) views = names;
      s->shards_.push_back(std::move(reused));
      continue;
    }
    PITSTORE_ASSIGN_OR_RETURN(uint64_t size, FileSize(file));
    if (size < e.bytes)
      return Status::Corruption(file + ": shard " + std::to_string(e.shard) + " is " + std::to_string(size) +
                                " bytes, the manifest says " + std::to_string(e.bytes) + " (truncated)");
    if (options.verify_checksums) {
      PITSTORE_ASSIGN_OR_RETURN(std::string sum, FileChecksum(file));
      if (size != e.bytes || sum != e.checksum)
        return Status::Corruption(file + ": shard " + std::to_string(e.shard) + " has checksum " + sum +
                                  ", the manifest says " + e.checksum);
    }
    Result<std::unique_ptr<Store>> store = Store::Open(file, open);
    if (!store.ok()) return store.status();
    PITSTORE_ASSIGN_OR_RETURN(std::vector<std::string> names, (*store)->ListViews());
    if (s->shards_.empty()) {
      views = names;
    } else if (names != views) {
      return Status::Corruption(file + ": shard " + std::to_string(e.shard) +
                                " has other feature views than shard 0 (the shards of a store share definitions)");
    }
    s->shards_.push_back(std::move(*store));
  }
  return s;
}

Result<uint32_t> ShardedStore::ShardOf(const std::string& view, const EntityKey& key) {
  PITSTORE_ASSIGN_OR_RETURN(std::vector<JoinKeyDef> defs, KeysOfView(any(), view));
  if (defs.size() != key.size())
    return Status::InvalidArgument("view '" + view + "' has " + std::to_string(defs.size()) + " join keys, the key " +
                                   std::to_string(key.size()));
  std::vector<KeyPart> parts;
  for (const std::string& name : manifest_.shard_keys) {
    size_t i = 0;
    while (i < defs.size() && defs[i].name != name) ++i;
    if (i == defs.size())
      return Status::InvalidArgument("view '" + view + "' has no join key '" + name +
                                     "', a shard key of this store: its rows cannot be routed");
    parts.push_back(key[i]);
  }
  return ShardOfKey(parts, shard_count());
}

Result<Lookup> ShardedStore::Latest(const std::string& view, const EntityKey& key, const ReadOptions& options) {
  PITSTORE_ASSIGN_OR_RETURN(uint32_t s, ShardOf(view, key));
  return shards_[s]->Latest(view, key, {}, options);
}

Result<Lookup> ShardedStore::AsOf(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                                  const ReadOptions& options) {
  PITSTORE_ASSIGN_OR_RETURN(uint32_t s, ShardOf(view, key));
  return shards_[s]->AsOf(view, key, t, known_at, {}, options);
}

Result<OnlineFeatures> ShardedStore::GetOnlineFeatures(const std::vector<FeatureRef>& refs, const EntityRows& rows,
                                                       const OnlineOptions& options) {
  // The shard of each row, from the shard key columns.
  size_t n = 0;
  for (const auto& [name, values] : rows.columns) n = std::max(n, values.size());
  for (const auto& [name, values] : rows.request) n = std::max(n, values.size());
  std::vector<const std::vector<KeyPart>*> key_columns;
  for (const std::string& name : manifest_.shard_keys) {
    const std::vector<KeyPart>* found = nullptr;
    for (const auto& [column, values] : rows.columns)
      if (column == name) found = &values;
    if (!found) return Status::InvalidArgument("the entity rows have no column '" + name + "' (the store's shard key)");
    if (found->size() != n)
      return Status::InvalidArgument("entity column '" + name + "' has " + std::to_string(found->size()) +
                                     " values, other columns " + std::to_string(n));
    key_columns.push_back(found);
  }
  // Every column has a value per row (a request input may have one for all), as one store demands.
  for (const auto& [name, values] : rows.columns)
    if (values.size() != n)
      return Status::InvalidArgument("entity column '" + name + "' has " + std::to_string(values.size()) +
                                     " values, other columns " + std::to_string(n));
  for (const auto& [name, values] : rows.request)
    if (values.size() != n && values.size() != 1)
      return Status::InvalidArgument("request column '" + name + "' has " + std::to_string(values.size()) +
                                     " values, other columns " + std::to_string(n));
  std::vector<std::vector<size_t>> rows_of(shard_count());
  std::vector<KeyPart> parts(key_columns.size());
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < key_columns.size(); ++k) parts[k] = (*key_columns[k])[i];
    rows_of[ShardOfKey(parts, shard_count())].push_back(i);
  }
  // Each shard answers its rows; the answers are scattered back to the rows' order.
  const Timestamp now = options.read.now != kMinTimestamp ? options.read.now : Env::Default()->NowMicros();
  OnlineFeatures out;
  out.rows = n;
  out.features.resize(refs.size());
  for (size_t f = 0; f < refs.size(); ++f) {
    out.features[f].ref = refs[f];
    out.features[f].values.resize(n);
    out.features[f].statuses.assign(n, ValueStatus::kNotFound);
    out.features[f].event_ts.assign(n, 0);
  }
  for (uint32_t s = 0; s < shard_count(); ++s) {
    const std::vector<size_t>& picked = rows_of[s];
    if (picked.empty()) continue;
    EntityRows part;
    for (const auto& [name, values] : rows.columns) {
      std::vector<KeyPart> subset;
      subset.reserve(picked.size());
      for (size_t i : picked) subset.push_back(values[i]);
      part.columns.emplace_back(name, std::move(subset));
    }
    for (const auto& [name, values] : rows.request) {
      std::vector<Value> subset;
      if (values.size() == 1 && n != 1) {
        subset = values;  // one value for every row
      } else {
        subset.reserve(picked.size());
        for (size_t i : picked) subset.push_back(values[i]);
      }
      part.request.emplace_back(name, std::move(subset));
    }
    OnlineOptions shard_options = options;
    shard_options.read.snapshot = nullptr;  // a snapshot belongs to one store
    shard_options.read.now = now;           // one clock for every shard
    PITSTORE_ASSIGN_OR_RETURN(OnlineFeatures answer,
                              workflow::GetOnlineFeatures(*shards_[s], refs, part, shard_options));
    for (size_t f = 0; f < refs.size(); ++f) {
      OnlineFeatureColumn& from = answer.features[f];
      OnlineFeatureColumn& to = out.features[f];
      for (size_t j = 0; j < picked.size(); ++j) {
        to.values[picked[j]] = std::move(from.values[j]);
        to.statuses[picked[j]] = from.statuses[j];
        to.event_ts[picked[j]] = from.event_ts[j];
      }
    }
  }
  return out;
}

}  // namespace pitstore::workflow
