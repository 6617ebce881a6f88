/* pitstore.h: the C API of pitstore, an embedded bitemporal feature store.
 *
 * Plain C (C99), for programs in C and for bindings (Rust, Go, Swift, Python ctypes). No C++
 * type or exception crosses it. The semantics are the C++ API's (pitstore/store.h); this header
 * restates what a C caller needs.
 *
 * ## Handles and memory
 * Every object is an opaque pointer created by a pitstore_* function and released by the
 * matching *_free / pitstore_close. Strings and arrays passed in are copied before the call
 * returns: the caller keeps ownership. Pointers handed out (names, string values, row arrays)
 * belong to the object they came from and stay valid until that object is freed.
 *
 * ## Errors
 * Functions return an int: PITSTORE_OK (0) or a PITSTORE_E* code. The message of the last error
 * on the calling thread, naming where the problem is (file, offset, row, column), is
 * pitstore_errmsg(); it stays valid until the thread's next failing pitstore call. Output
 * parameters are set only on success (a handle to NULL on failure).
 *
 * ## Threads and processes
 * A pitstore_store may be used from many threads at once: reads run concurrently, writes are
 * serialized. Result objects (pitstore_result) are not shared between threads while one is
 * freed. One process at a time may open a store read-write (another gets PITSTORE_EBUSY at once);
 * any number may open it read-only, also from a read-only file system.
 *
 * ## Timestamps and keys
 * Timestamps are int64 microseconds since the Unix epoch, UTC; PITSTORE_TS_MAX means +inf.
 * An entity key is an array of pitstore_value, one per join key of the view's entities in order:
 * PITSTORE_INT64 or PITSTORE_STRING parts.
 */
#ifndef PITSTORE_H
#define PITSTORE_H

#include <stddef.h>
#include <stdint.h>

/* What the shared library exports; everything else in it is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define PITSTORE_API __attribute__((visibility("default")))
#else
#define PITSTORE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (the C++ Status codes). */
#define PITSTORE_OK 0
#define PITSTORE_ENOTFOUND 1   /* a store, view, entity or feature does not exist */
#define PITSTORE_ECORRUPTION 2 /* stored bytes failed a checksum or do not decode */
#define PITSTORE_EIO 3         /* the operating system refused a read or write (disk full, ...) */
#define PITSTORE_EINVAL 4      /* a malformed argument: wrong type, arity, row, NULL handle */
#define PITSTORE_ENOTSUP 5     /* a file needs a format feature this build does not know */
#define PITSTORE_EBUSY 6       /* another process holds the store read-write */
#define PITSTORE_EEXIST 7      /* a different definition of that name exists */

#define PITSTORE_TS_MAX INT64_MAX
#define PITSTORE_TS_MIN INT64_MIN

/* Value and key types (the on-disk numbers of pitstore::FeatureType). */
typedef enum {
  PITSTORE_BOOL = 1,
  PITSTORE_INT32 = 2,
  PITSTORE_INT64 = 3,
  PITSTORE_FLOAT32 = 4,
  PITSTORE_FLOAT64 = 5,
  PITSTORE_STRING = 6,
  PITSTORE_BYTES = 7,
  PITSTORE_TIMESTAMP = 8,
  PITSTORE_FLOAT32_VECTOR = 9
} pitstore_type;

/* Per value of a read: present, null (the row holds null), not found (no row), expired (older
 * than the view's TTL: withheld, as Feast's OUTSIDE_MAX_AGE). */
typedef enum { PITSTORE_PRESENT = 0, PITSTORE_NULL = 1, PITSTORE_NOT_FOUND = 2, PITSTORE_EXPIRED = 3 } pitstore_status;

/* One nullable value. Set `type` and the matching member; `is_null` != 0 means null whatever
 * the type. Strings and bytes are (data, len) and need not be NUL-terminated; a vector is
 * (floats, len). In results the pointers point into the result object. */
typedef struct {
  pitstore_type type;
  int is_null;
  union {
    int b;       /* BOOL */
    int32_t i32; /* INT32 */
    int64_t i64; /* INT64, TIMESTAMP */
    float f32;   /* FLOAT32 */
    double f64;  /* FLOAT64 */
    struct {
      const char* data;
      size_t len;
    } str; /* STRING, BYTES */
    struct {
      const float* data;
      size_t len;
    } vec; /* FLOAT32_VECTOR */
  } u;
} pitstore_value;

typedef struct pitstore_store pitstore_store;
typedef struct pitstore_batch pitstore_batch;
typedef struct pitstore_result pitstore_result;

/* The message of the calling thread's last error ("" if none). */
PITSTORE_API const char* pitstore_errmsg(void);
/* A fixed name for a code: "ok", "not found", "corruption", ... */
PITSTORE_API const char* pitstore_strerror(int code);
/* The library's version, "MAJOR.MINOR.PATCH". */
PITSTORE_API const char* pitstore_version(void);

/* ---- opening ---- */
#define PITSTORE_OPEN_READ_ONLY 0x1 /* no writes, no lock file: any number of processes */
#define PITSTORE_OPEN_CREATE 0x2    /* create the store if missing (read-write only) */

/* Opens the store whose data file is `path` (the index is path + "-index"). Errors: ENOTFOUND
 * (no store and no CREATE; or read-only without an index: open read-write once to rebuild it),
 * EBUSY (another process has it read-write), ECORRUPTION, EIO. *out receives the handle. */
PITSTORE_API int pitstore_open(const char* path, unsigned flags, pitstore_store** out);
/* Closes the store and frees the handle (NULL is fine). Results stay valid after it. */
PITSTORE_API void pitstore_close(pitstore_store* store);

/* ---- definitions (each one atomic commit; re-defining an identical one is a no-op) ---- */
/* An entity with n join keys, each PITSTORE_INT64 or PITSTORE_STRING. EEXIST if it differs. */
PITSTORE_API int pitstore_define_entity(pitstore_store* store, const char* name, size_t n, const char* const* key_names,
                                        const pitstore_type* key_types);
/* A feature view over `n_entities` entities with `n_features` typed features (dims: vector
 * lengths for PITSTORE_FLOAT32_VECTOR, else 0; may be NULL when there is no vector). ttl_us 0:
 * no TTL. Re-defining may append features; anything else that differs is EINVAL or EEXIST. */
PITSTORE_API int pitstore_define_view(pitstore_store* store, const char* name, size_t n_entities,
                                      const char* const* entities, size_t n_features, const char* const* feature_names,
                                      const pitstore_type* feature_types, const uint32_t* dims, int64_t ttl_us);

/* ---- writing ---- */
/* A batch of rows for one view, built in memory; nothing is written until pitstore_append. */
PITSTORE_API int pitstore_batch_new(pitstore_batch** out);
PITSTORE_API void pitstore_batch_free(pitstore_batch* batch);
/* Adds a row: the key (n_key parts), event_ts, one value per feature of the view in order
 * (n_values), and system_ts (PITSTORE_TS_MIN: the commit time). Types are checked at append. */
PITSTORE_API int pitstore_batch_add(pitstore_batch* batch, const pitstore_value* key, size_t n_key, int64_t event_ts,
                                    const pitstore_value* values, size_t n_values, int64_t system_ts);
PITSTORE_API size_t pitstore_batch_rows(const pitstore_batch* batch);
/* Commits every row of the batch to `view` atomically: on any error nothing of it is written
 * (EINVAL names the bad row and column; EIO when the disk is full). sync != 0: durable before
 * returning (survives power loss); sync == 0: survives a process crash only. The batch may be
 * reused or freed afterwards. */
PITSTORE_API int pitstore_append(pitstore_store* store, const char* view, const pitstore_batch* batch, int sync);
/* Erasure: removes every version of n_keys keys (keys: n_keys * n_key_parts values) from
 * `view`, for every reader whatever its known-at, in one synced commit; *removed (may be NULL)
 * gets the count of rows removed. Their bytes leave the data file at the next pitstore_vacuum
 * (Store::Delete in store.h says more). */
PITSTORE_API int pitstore_delete(pitstore_store* store, const char* view, const pitstore_value* keys,
                                 size_t n_key_parts, size_t n_keys, uint64_t* removed);

/* ---- reading ----
 * Each read returns a pitstore_result: rows of the requested features (all features of the view
 * when `features` is NULL / n_features 0), one row per key (latest, as_of) or per version
 * (history). Free it with pitstore_result_free. Values are scalars and vectors: a read of a
 * feature that is a list (a last_k aggregate of an aggregation view) fails with EINVAL. */

/* The latest row of each of n_keys keys (keys: n_keys * n_key_parts values, key after key), from
 * the index. now_us: the reader's clock for TTL expiry (PITSTORE_TS_MIN: the system clock). */
PITSTORE_API int pitstore_latest(pitstore_store* store, const char* view, const pitstore_value* keys,
                                 size_t n_key_parts, size_t n_keys, const char* const* features, size_t n_features,
                                 int64_t now_us, pitstore_result** out);
/* The row of one key as of event time t, known by system time known_at (PITSTORE_TS_MAX: all):
 * among rows with event_ts <= t and system_ts <= known_at, the greatest (event_ts, system_ts);
 * not found when the view's TTL is set and t - event_ts > ttl (status EXPIRED). */
PITSTORE_API int pitstore_as_of(pitstore_store* store, const char* view, const pitstore_value* key, size_t n_key_parts,
                                int64_t t, int64_t known_at, const char* const* features, size_t n_features,
                                pitstore_result** out);
/* Every stored version of one key with from <= event_ts <= to and system_ts <= known_at, in
 * order (corrections included). */
PITSTORE_API int pitstore_history(pitstore_store* store, const char* view, const pitstore_value* key,
                                  size_t n_key_parts, int64_t from, int64_t to, int64_t known_at,
                                  const char* const* features, size_t n_features, pitstore_result** out);

PITSTORE_API void pitstore_result_free(pitstore_result* result);
PITSTORE_API size_t pitstore_result_rows(const pitstore_result* result);
PITSTORE_API size_t pitstore_result_columns(const pitstore_result* result);
/* The name of feature column c (valid while the result lives). */
PITSTORE_API const char* pitstore_result_column_name(const pitstore_result* result, size_t c);
/* Row r: found != 0 when a row matched; its event and system times (0 when not found). */
PITSTORE_API int pitstore_result_found(const pitstore_result* result, size_t r);
PITSTORE_API int64_t pitstore_result_event_ts(const pitstore_result* result, size_t r);
PITSTORE_API int64_t pitstore_result_system_ts(const pitstore_result* result, size_t r);
/* The value of row r, column c, and its status. Out of range: a null value, NOT_FOUND. */
PITSTORE_API pitstore_value pitstore_result_value(const pitstore_result* result, size_t r, size_t c);
PITSTORE_API pitstore_status pitstore_result_status(const pitstore_result* result, size_t r, size_t c);

#ifdef __cplusplus
}
#endif

#endif /* PITSTORE_H */
