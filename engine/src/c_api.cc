// The C API (include/pitstore.h) over the C++ Store: conversions at the boundary, no logic.
// Over 400 lines: one short function per C entry point.
#include <algorithm>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "pitstore.h"
#include "pitstore/store.h"

using pitstore::EntityKey;
using pitstore::FeatureType;
using pitstore::Status;
using pitstore::Value;

struct pitstore_store {
  std::unique_ptr<pitstore::Store> store;
};

struct pitstore_batch {
  pitstore::WriteBatch batch;
};

struct pitstore_result {
  std::vector<std::string> names;
  struct Row {
    bool found = false;
    int64_t event_ts = 0, system_ts = 0;
    std::vector<Value> values;
    std::vector<pitstore::ValueStatus> status;
  };
  std::vector<Row> rows;
};

namespace {

thread_local std::string last_error;

int Fail(const Status& st) {
  last_error = st.message();
  return static_cast<int>(st.code());
}

int Invalid(const std::string& msg) { return Fail(Status::InvalidArgument(msg)); }

// Runs fn, turning an escaping exception (std::bad_alloc) into an error code: none may cross C.
template <typename Fn>
int Guard(Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Fail(Status::IOError("out of memory"));
  } catch (const std::exception& e) {
    return Fail(Status::IOError(std::string("internal error: ") + e.what()));
  }
}

bool ValidType(int t) { return t >= PITSTORE_BOOL && t <= PITSTORE_FLOAT32_VECTOR; }

int ToValue(const pitstore_value& in, Value* out, const std::string& where) {
  if (in.is_null) {
    *out = Value::Null();
    return PITSTORE_OK;
  }
  switch (in.type) {
    case PITSTORE_BOOL:
      *out = Value::Bool(in.u.b != 0);
      break;
    case PITSTORE_INT32:
      *out = Value::Int32(in.u.i32);
      break;
    case PITSTORE_INT64:
      *out = Value::Int64(in.u.i64);
      break;
    case PITSTORE_TIMESTAMP:
      *out = Value::Time(in.u.i64);
      break;
    case PITSTORE_FLOAT32:
      *out = Value::Float32(in.u.f32);
      break;
    case PITSTORE_FLOAT64:
      *out = Value::Float64(in.u.f64);
      break;
    case PITSTORE_STRING:
    case PITSTORE_BYTES: {
      if (!in.u.str.data && in.u.str.len) return Invalid(where + ": string with NULL data");
      std::string s(in.u.str.data ? in.u.str.data : "", in.u.str.len);
      *out = in.type == PITSTORE_STRING ? Value::String(std::move(s)) : Value::Bytes(std::move(s));
      break;
    }
    case PITSTORE_FLOAT32_VECTOR:
      if (!in.u.vec.data && in.u.vec.len) return Invalid(where + ": vector with NULL data");
      *out = Value::Vector(std::vector<float>(in.u.vec.data, in.u.vec.data + in.u.vec.len));
      break;
    default:
      return Invalid(where + ": unknown value type " + std::to_string(static_cast<int>(in.type)));
  }
  return PITSTORE_OK;
}

int ToKey(const pitstore_value* parts, size_t n, EntityKey* key) {
  if (!parts || n == 0) return Invalid("an entity key needs at least one part");
  key->clear();
  for (size_t i = 0; i < n; ++i) {
    const pitstore_value& p = parts[i];
    if (p.is_null) return Invalid("key part " + std::to_string(i) + " is null");
    if (p.type == PITSTORE_INT64)
      key->emplace_back(std::in_place_index<0>, p.u.i64);
    else if (p.type == PITSTORE_STRING && (p.u.str.data || !p.u.str.len))
      key->emplace_back(std::in_place_index<1>, p.u.str.data ? p.u.str.data : "", p.u.str.len);
    else
      return Invalid("key part " + std::to_string(i) + " must be PITSTORE_INT64 or PITSTORE_STRING");
  }
  return PITSTORE_OK;
}

std::vector<std::string> Names(const char* const* names, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.emplace_back(names[i] ? names[i] : "");
  return out;
}

// The names of the columns a read returns: those asked for, or all the view's features.
int ColumnNames(pitstore::Store& store, const char* view, const std::vector<std::string>& wanted,
                std::vector<std::string>* names) {
  auto def = store.GetView(view);
  if (!def.ok() && wanted.empty()) return Fail(def.status());
  // pitstore_value holds scalars and vectors: a list (a last_k aggregate) is refused, not
  // returned as something else.
  if (def.ok())
    for (const pitstore::FeatureDef& f : def->features)
      if (pitstore::IsListType(f.type) &&
          (wanted.empty() || std::find(wanted.begin(), wanted.end(), f.name) != wanted.end()))
        return Invalid("view '" + std::string(view) + "', feature '" + f.name + "' is a list (" +
                       pitstore::FeatureTypeName(f.type) +
                       "): the C API reads scalars and vectors; read lists from C++, Python, the tool or the server");
  if (!wanted.empty()) {
    *names = wanted;
    return PITSTORE_OK;
  }
  for (const pitstore::FeatureDef& f : def->features) names->push_back(f.name);
  return PITSTORE_OK;
}

pitstore_result::Row RowOf(const pitstore::Lookup& l) {
  pitstore_result::Row r;
  r.found = l.found;
  r.event_ts = l.found ? l.event_ts : 0;
  r.system_ts = l.found ? l.system_ts : 0;
  r.values = l.values;
  r.status = l.status;
  return r;
}

bool Checked(const void* handle, const char* what, int* rc) {
  if (handle) return true;
  *rc = Invalid(std::string(what) + " is NULL");
  return false;
}

// The frame of every read: checks the handles, resolves the column names, lets `fill` add the
// rows, and hands the result out only when it is whole.
template <typename Fill>
int Read(pitstore_store* store, const char* view, const char* const* features, size_t n_features, pitstore_result** out,
         Fill&& fill) {
  return Guard([&] {
    int rc;
    if (!Checked(store, "store", &rc) || !Checked(view, "view", &rc) || !Checked(out, "out", &rc)) return rc;
    *out = nullptr;
    std::vector<std::string> wanted = Names(features, features ? n_features : 0);
    auto res = std::make_unique<pitstore_result>();
    if ((rc = ColumnNames(*store->store, view, wanted, &res->names)) != PITSTORE_OK) return rc;
    if ((rc = fill(wanted, res.get())) != PITSTORE_OK) return rc;
    *out = res.release();
    return PITSTORE_OK;
  });
}

}  // namespace

extern "C" {

const char* pitstore_errmsg(void) { return last_error.c_str(); }

const char* pitstore_strerror(int code) {
  switch (code) {
    case PITSTORE_OK:
      return "ok";
    case PITSTORE_ENOTFOUND:
      return "not found";
    case PITSTORE_ECORRUPTION:
      return "corruption";
    case PITSTORE_EIO:
      return "I/O error";
    case PITSTORE_EINVAL:
      return "invalid argument";
    case PITSTORE_ENOTSUP:
      return "not supported";
    case PITSTORE_EBUSY:
      return "busy";
    case PITSTORE_EEXIST:
      return "already exists";
  }
  return "unknown error";
}

const char* pitstore_version(void) { return PITSTORE_VERSION_STRING; }

int pitstore_open(const char* path, unsigned flags, pitstore_store** out) {
  return Guard([&] {
    int rc;
    if (!Checked(path, "path", &rc) || !Checked(out, "out", &rc)) return rc;
    *out = nullptr;
    pitstore::Options o;
    o.read_only = flags & PITSTORE_OPEN_READ_ONLY;
    o.create_if_missing = (flags & PITSTORE_OPEN_CREATE) && !o.read_only;
    auto store = pitstore::Store::Open(path, o);
    if (!store.ok()) return Fail(store.status());
    *out = new pitstore_store{std::move(store).value()};
    return PITSTORE_OK;
  });
}

void pitstore_close(pitstore_store* store) { delete store; }

int pitstore_define_entity(pitstore_store* store, const char* name, size_t n, const char* const* key_names,
                           const pitstore_type* key_types) {
  return Guard([&] {
    int rc;
    if (!Checked(store, "store", &rc) || !Checked(name, "name", &rc)) return rc;
    if (n == 0 || !key_names || !key_types) return Invalid("entity '" + std::string(name) + "' needs join keys");
    pitstore::EntityDef e;
    e.name = name;
    for (size_t i = 0; i < n; ++i) {
      if (key_types[i] != PITSTORE_INT64 && key_types[i] != PITSTORE_STRING)
        return Invalid("join key " + std::to_string(i) + " must be PITSTORE_INT64 or PITSTORE_STRING");
      e.join_keys.push_back({key_names[i] ? key_names[i] : "",
                             key_types[i] == PITSTORE_INT64 ? pitstore::KeyType::kInt64 : pitstore::KeyType::kString});
    }
    Status st = store->store->DefineEntity(e);
    return st.ok() ? PITSTORE_OK : Fail(st);
  });
}

int pitstore_define_view(pitstore_store* store, const char* name, size_t n_entities, const char* const* entities,
                         size_t n_features, const char* const* feature_names, const pitstore_type* feature_types,
                         const uint32_t* dims, int64_t ttl_us) {
  return Guard([&] {
    int rc;
    if (!Checked(store, "store", &rc) || !Checked(name, "name", &rc)) return rc;
    if (!entities || !feature_names || !feature_types) return Invalid("view '" + std::string(name) + "': NULL array");
    pitstore::FeatureViewDef v;
    v.name = name;
    v.entities = Names(entities, n_entities);
    v.ttl_us = ttl_us;
    for (size_t i = 0; i < n_features; ++i) {
      if (!ValidType(feature_types[i])) return Invalid("feature " + std::to_string(i) + ": unknown type");
      pitstore::FeatureDef f;
      f.name = feature_names[i] ? feature_names[i] : "";
      f.type = static_cast<FeatureType>(feature_types[i]);
      f.dim = dims ? dims[i] : 0;
      v.features.push_back(std::move(f));
    }
    Status st = store->store->DefineView(v);
    return st.ok() ? PITSTORE_OK : Fail(st);
  });
}

int pitstore_batch_new(pitstore_batch** out) {
  return Guard([&] {
    int rc;
    if (!Checked(out, "out", &rc)) return rc;
    *out = new pitstore_batch();
    return PITSTORE_OK;
  });
}

void pitstore_batch_free(pitstore_batch* batch) { delete batch; }

int pitstore_batch_add(pitstore_batch* batch, const pitstore_value* key, size_t n_key, int64_t event_ts,
                       const pitstore_value* values, size_t n_values, int64_t system_ts) {
  return Guard([&] {
    int rc;
    if (!Checked(batch, "batch", &rc)) return rc;
    if (n_values && !values) return Invalid("values is NULL");
    EntityKey k;
    if ((rc = ToKey(key, n_key, &k)) != PITSTORE_OK) return rc;
    std::vector<Value> row(n_values);
    for (size_t i = 0; i < n_values; ++i)
      if ((rc = ToValue(values[i], &row[i], "value " + std::to_string(i))) != PITSTORE_OK) return rc;
    batch->batch.Add(std::move(k), event_ts, std::move(row),
                     system_ts == PITSTORE_TS_MIN ? pitstore::kCommitTime : system_ts);
    return PITSTORE_OK;
  });
}

size_t pitstore_batch_rows(const pitstore_batch* batch) { return batch ? batch->batch.size() : 0; }

int pitstore_append(pitstore_store* store, const char* view, const pitstore_batch* batch, int sync) {
  return Guard([&] {
    int rc;
    if (!Checked(store, "store", &rc) || !Checked(view, "view", &rc) || !Checked(batch, "batch", &rc)) return rc;
    pitstore::WriteOptions w;
    w.sync = sync != 0;
    auto r = store->store->Append(view, batch->batch, w);
    return r.ok() ? PITSTORE_OK : Fail(r.status());
  });
}

int pitstore_delete(pitstore_store* store, const char* view, const pitstore_value* keys, size_t n_key_parts,
                    size_t n_keys, uint64_t* removed) {
  return Guard([&] {
    int rc;
    if (!Checked(store, "store", &rc) || !Checked(view, "view", &rc) || (n_keys && !Checked(keys, "keys", &rc)))
      return rc;
    std::vector<EntityKey> ks(n_keys);
    for (size_t i = 0; i < n_keys; ++i)
      if (int krc = ToKey(keys + i * n_key_parts, n_key_parts, &ks[i]); krc != PITSTORE_OK) return krc;
    auto r = store->store->Delete(view, ks);
    if (!r.ok()) return Fail(r.status());
    if (removed) *removed = *r;
    return PITSTORE_OK;
  });
}

int pitstore_latest(pitstore_store* store, const char* view, const pitstore_value* keys, size_t n_key_parts,
                    size_t n_keys, const char* const* features, size_t n_features, int64_t now_us,
                    pitstore_result** out) {
  return Read(store, view, features, n_features, out,
              [&](const std::vector<std::string>& wanted, pitstore_result* res) {
                std::vector<EntityKey> ks(n_keys);
                for (size_t i = 0; i < n_keys; ++i)
                  if (int rc = ToKey(keys + i * n_key_parts, n_key_parts, &ks[i]); rc != PITSTORE_OK) return rc;
                pitstore::ReadOptions ro;
                if (now_us != PITSTORE_TS_MIN) ro.now = now_us;
                auto lookups = store->store->LatestBatch(view, ks, wanted, ro);
                if (!lookups.ok()) return Fail(lookups.status());
                for (const pitstore::Lookup& l : *lookups) res->rows.push_back(RowOf(l));
                return PITSTORE_OK;
              });
}

int pitstore_as_of(pitstore_store* store, const char* view, const pitstore_value* key, size_t n_key_parts, int64_t t,
                   int64_t known_at, const char* const* features, size_t n_features, pitstore_result** out) {
  return Read(store, view, features, n_features, out,
              [&](const std::vector<std::string>& wanted, pitstore_result* res) {
                EntityKey k;
                if (int rc = ToKey(key, n_key_parts, &k); rc != PITSTORE_OK) return rc;
                auto l = store->store->AsOf(view, k, t, known_at, wanted);
                if (!l.ok()) return Fail(l.status());
                res->rows.push_back(RowOf(*l));
                return PITSTORE_OK;
              });
}

int pitstore_history(pitstore_store* store, const char* view, const pitstore_value* key, size_t n_key_parts,
                     int64_t from, int64_t to, int64_t known_at, const char* const* features, size_t n_features,
                     pitstore_result** out) {
  return Read(store, view, features, n_features, out,
              [&](const std::vector<std::string>& wanted, pitstore_result* res) {
                EntityKey k;
                if (int rc = ToKey(key, n_key_parts, &k); rc != PITSTORE_OK) return rc;
                auto versions = store->store->History(view, k, from, to, known_at, wanted);
                if (!versions.ok()) return Fail(versions.status());
                for (pitstore::VersionedRow& v : *versions) {
                  pitstore_result::Row r;
                  r.found = true;
                  r.event_ts = v.event_ts;
                  r.system_ts = v.system_ts;
                  for (const Value& x : v.values)
                    r.status.push_back(x.is_null() ? pitstore::ValueStatus::kNull : pitstore::ValueStatus::kPresent);
                  r.values = std::move(v.values);
                  res->rows.push_back(std::move(r));
                }
                return PITSTORE_OK;
              });
}

void pitstore_result_free(pitstore_result* result) { delete result; }

size_t pitstore_result_rows(const pitstore_result* result) { return result ? result->rows.size() : 0; }

size_t pitstore_result_columns(const pitstore_result* result) { return result ? result->names.size() : 0; }

const char* pitstore_result_column_name(const pitstore_result* result, size_t c) {
  return result && c < result->names.size() ? result->names[c].c_str() : "";
}

int pitstore_result_found(const pitstore_result* result, size_t r) {
  return result && r < result->rows.size() && result->rows[r].found;
}

int64_t pitstore_result_event_ts(const pitstore_result* result, size_t r) {
  return result && r < result->rows.size() ? result->rows[r].event_ts : 0;
}

int64_t pitstore_result_system_ts(const pitstore_result* result, size_t r) {
  return result && r < result->rows.size() ? result->rows[r].system_ts : 0;
}

pitstore_value pitstore_result_value(const pitstore_result* result, size_t r, size_t c) {
  pitstore_value out{};
  out.is_null = 1;
  out.type = PITSTORE_INT64;
  if (!result || r >= result->rows.size() || c >= result->rows[r].values.size()) return out;
  const Value& v = result->rows[r].values[c];
  if (v.is_null()) return out;
  out.is_null = 0;
  out.type = static_cast<pitstore_type>(v.type());
  switch (v.type()) {
    case FeatureType::kBool:
      out.u.b = v.as_bool();
      break;
    case FeatureType::kInt32:
      out.u.i32 = v.as_int32();
      break;
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      out.u.i64 = v.as_int64();
      break;
    case FeatureType::kFloat32:
      out.u.f32 = v.as_float32();
      break;
    case FeatureType::kFloat64:
      out.u.f64 = v.as_float64();
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      out.u.str.data = v.as_string().data();
      out.u.str.len = v.as_string().size();
      break;
    case FeatureType::kFloat32Vector:
      out.u.vec.data = v.as_vector().data();
      out.u.vec.len = v.as_vector().size();
      break;
  }
  return out;
}

pitstore_status pitstore_result_status(const pitstore_result* result, size_t r, size_t c) {
  if (!result || r >= result->rows.size()) return PITSTORE_NOT_FOUND;
  const pitstore_result::Row& row = result->rows[r];
  if (c >= row.status.size()) return row.found ? PITSTORE_NULL : PITSTORE_NOT_FOUND;
  return static_cast<pitstore_status>(row.status[c]);
}

}  // extern "C"
