/* The C API end to end, from C: create a store, define an entity and a view, append batches
 * (with a correction, a late arrival and a null), read latest (one key, a batch, TTL expiry),
 * as-of (with and without known_at), history; the errors a caller meets; reopen read-only.
 *   c_api_test DIR     (a fresh directory to create the store in)
 * Exit 0 when every check passed; the first failure is printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pitstore.h"

static int failures = 0;
#define CHECK(cond)                                                                                              \
  do {                                                                                                           \
    if (!(cond)) {                                                                                               \
      fprintf(stderr, "c_api_test:%d: check failed: %s (last error: %s)\n", __LINE__, #cond, pitstore_errmsg()); \
      failures++;                                                                                                \
    }                                                                                                            \
  } while (0)

static pitstore_value Int64(int64_t v) {
  pitstore_value x;
  memset(&x, 0, sizeof x);
  x.type = PITSTORE_INT64;
  x.u.i64 = v;
  return x;
}

static pitstore_value Str(const char* s) {
  pitstore_value x;
  memset(&x, 0, sizeof x);
  x.type = PITSTORE_STRING;
  x.u.str.data = s;
  x.u.str.len = strlen(s);
  return x;
}

static pitstore_value F64(double v) {
  pitstore_value x;
  memset(&x, 0, sizeof x);
  x.type = PITSTORE_FLOAT64;
  x.u.f64 = v;
  return x;
}

static pitstore_value Null(void) {
  pitstore_value x;
  memset(&x, 0, sizeof x);
  x.is_null = 1;
  return x;
}

#define DAY (86400LL * 1000000LL)

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: c_api_test DIR\n");
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/c_api.pit", argv[1]);
  printf("pitstore %s\n", pitstore_version());

  pitstore_store* store = NULL;
  CHECK(pitstore_open(path, 0, &store) == PITSTORE_ENOTFOUND); /* no CREATE */
  CHECK(store == NULL);
  CHECK(strstr(pitstore_errmsg(), "no such store") != NULL);
  CHECK(pitstore_open(path, PITSTORE_OPEN_CREATE, &store) == PITSTORE_OK);
  if (!store) return 1;

  const char* key_names[] = {"user_id"};
  pitstore_type key_types[] = {PITSTORE_INT64};
  CHECK(pitstore_define_entity(store, "user", 1, key_names, key_types) == PITSTORE_OK);
  const char* entities[] = {"user"};
  const char* features[] = {"sessions", "spend", "country"};
  pitstore_type types[] = {PITSTORE_INT64, PITSTORE_FLOAT64, PITSTORE_STRING};
  CHECK(pitstore_define_view(store, "user_stats", 1, entities, 3, features, types, NULL, 7 * DAY) == PITSTORE_OK);
  /* A different entity of the same name is refused. */
  pitstore_type other[] = {PITSTORE_STRING};
  CHECK(pitstore_define_entity(store, "user", 1, key_names, other) != PITSTORE_OK);
  CHECK(strstr(pitstore_errmsg(), "join keys") != NULL);

  /* Batch 1: users 1..3 at day 10, learned at day 10. */
  pitstore_batch* batch = NULL;
  CHECK(pitstore_batch_new(&batch) == PITSTORE_OK);
  for (int64_t u = 1; u <= 3; ++u) {
    pitstore_value key = Int64(u);
    pitstore_value values[3] = {Int64(u * 10), F64(u * 1.5), Str(u == 2 ? "DE" : "NL")};
    CHECK(pitstore_batch_add(batch, &key, 1, 10 * DAY, values, 3, 10 * DAY) == PITSTORE_OK);
  }
  CHECK(pitstore_batch_rows(batch) == 3);
  CHECK(pitstore_append(store, "user_stats", batch, 1) == PITSTORE_OK);
  pitstore_batch_free(batch);

  /* Batch 2, with system times: a correction of user 1 at day 10 (known at day 12), a newer row
   * for user 2 at day 20 with a null, and a late arrival for user 3 at day 5. */
  CHECK(pitstore_batch_new(&batch) == PITSTORE_OK);
  {
    pitstore_value k1 = Int64(1), k2 = Int64(2), k3 = Int64(3);
    pitstore_value v1[3] = {Int64(11), F64(1.5), Str("NL")};
    pitstore_value v2[3] = {Int64(21), Null(), Str("DE")};
    pitstore_value v3[3] = {Int64(99), F64(9.9), Str("BE")};
    CHECK(pitstore_batch_add(batch, &k1, 1, 10 * DAY, v1, 3, 12 * DAY) == PITSTORE_OK);
    CHECK(pitstore_batch_add(batch, &k2, 1, 20 * DAY, v2, 3, 20 * DAY) == PITSTORE_OK);
    CHECK(pitstore_batch_add(batch, &k3, 1, 5 * DAY, v3, 3, 21 * DAY) == PITSTORE_OK);
  }
  CHECK(pitstore_append(store, "user_stats", batch, 1) == PITSTORE_OK);
  pitstore_batch_free(batch);

  /* A bad batch (a string where an int belongs) commits nothing and says where. */
  CHECK(pitstore_batch_new(&batch) == PITSTORE_OK);
  {
    pitstore_value k = Int64(4);
    pitstore_value bad[3] = {Str("ten"), F64(0), Str("NL")};
    CHECK(pitstore_batch_add(batch, &k, 1, 30 * DAY, bad, 3, PITSTORE_TS_MIN) == PITSTORE_OK);
  }
  CHECK(pitstore_append(store, "user_stats", batch, 1) == PITSTORE_EINVAL);
  CHECK(strstr(pitstore_errmsg(), "sessions") != NULL);
  CHECK(pitstore_append(store, "no_such_view", batch, 1) == PITSTORE_ENOTFOUND);
  pitstore_batch_free(batch);

  /* Latest of a batch of keys (user 4 is absent: the bad batch committed nothing), by a clock
   * at day 22: user 2's day-20 row is within the 7-day TTL, user 1's day-10 row is expired. */
  pitstore_value keys[4] = {Int64(1), Int64(2), Int64(3), Int64(4)};
  pitstore_result* r = NULL;
  CHECK(pitstore_latest(store, "user_stats", keys, 1, 4, NULL, 0, 22 * DAY, &r) == PITSTORE_OK);
  CHECK(pitstore_result_rows(r) == 4 && pitstore_result_columns(r) == 3);
  CHECK(strcmp(pitstore_result_column_name(r, 2), "country") == 0);
  CHECK(pitstore_result_found(r, 1) && pitstore_result_event_ts(r, 1) == 20 * DAY);
  CHECK(pitstore_result_value(r, 1, 0).u.i64 == 21);
  CHECK(pitstore_result_status(r, 1, 1) == PITSTORE_NULL && pitstore_result_value(r, 1, 1).is_null);
  {
    pitstore_value c = pitstore_result_value(r, 1, 2);
    CHECK(c.type == PITSTORE_STRING && c.u.str.len == 2 && memcmp(c.u.str.data, "DE", 2) == 0);
  }
  CHECK(pitstore_result_status(r, 0, 0) == PITSTORE_EXPIRED);
  /* The late arrival (day 5) never replaces user 3's newer day-10 row. */
  CHECK(pitstore_result_event_ts(r, 2) == 10 * DAY);
  CHECK(!pitstore_result_found(r, 3) && pitstore_result_status(r, 3, 0) == PITSTORE_NOT_FOUND);
  pitstore_result_free(r);

  /* Erasure: user 3's versions are gone for every reader; deleting again removes nothing. */
  {
    uint64_t removed = 0;
    pitstore_value three = Int64(3);
    CHECK(pitstore_delete(store, "user_stats", &three, 1, 1, &removed) == PITSTORE_OK && removed == 2);
    CHECK(pitstore_delete(store, "user_stats", &three, 1, 1, &removed) == PITSTORE_OK && removed == 0);
    CHECK(pitstore_delete(store, "no_such_view", &three, 1, 1, NULL) == PITSTORE_ENOTFOUND);
    CHECK(pitstore_latest(store, "user_stats", keys, 1, 4, NULL, 0, 22 * DAY, &r) == PITSTORE_OK);
    CHECK(!pitstore_result_found(r, 2) && pitstore_result_found(r, 1));
    pitstore_result_free(r);
  }

  /* Latest of one key, one feature, by a clock where nothing has expired. */
  const char* want[] = {"sessions"};
  CHECK(pitstore_latest(store, "user_stats", &keys[0], 1, 1, want, 1, 11 * DAY, &r) == PITSTORE_OK);
  CHECK(pitstore_result_columns(r) == 1 && pitstore_result_value(r, 0, 0).u.i64 == 11); /* the correction */
  pitstore_result_free(r);
  const char* unknown[] = {"nope"};
  CHECK(pitstore_latest(store, "user_stats", &keys[0], 1, 1, unknown, 1, PITSTORE_TS_MIN, &r) != PITSTORE_OK);
  CHECK(r == NULL);

  /* As of day 15: user 1 reads the correction (11) now, and the original (10) as known at day 11. */
  CHECK(pitstore_as_of(store, "user_stats", &keys[0], 1, 15 * DAY, PITSTORE_TS_MAX, NULL, 0, &r) == PITSTORE_OK);
  CHECK(pitstore_result_value(r, 0, 0).u.i64 == 11);
  pitstore_result_free(r);
  CHECK(pitstore_as_of(store, "user_stats", &keys[0], 1, 15 * DAY, 11 * DAY, NULL, 0, &r) == PITSTORE_OK);
  CHECK(pitstore_result_value(r, 0, 0).u.i64 == 10);
  pitstore_result_free(r);
  /* As of day 30, user 1's day-10 row is beyond the TTL: expired. */
  CHECK(pitstore_as_of(store, "user_stats", &keys[0], 1, 30 * DAY, PITSTORE_TS_MAX, NULL, 0, &r) == PITSTORE_OK);
  CHECK(pitstore_result_status(r, 0, 0) == PITSTORE_EXPIRED);
  pitstore_result_free(r);

  /* History of user 1: both versions at day 10, in order. */
  CHECK(pitstore_history(store, "user_stats", &keys[0], 1, PITSTORE_TS_MIN, PITSTORE_TS_MAX, PITSTORE_TS_MAX, NULL, 0,
                         &r) == PITSTORE_OK);
  CHECK(pitstore_result_rows(r) == 2);
  CHECK(pitstore_result_value(r, 0, 0).u.i64 == 10 && pitstore_result_value(r, 1, 0).u.i64 == 11);
  CHECK(pitstore_result_system_ts(r, 1) == 12 * DAY);
  pitstore_result_free(r);

  /* An unknown feature is NOT_FOUND, as an unknown view is (the header's rule, the engine's and
   * the CLI's alike), through every read. */
  {
    const char* nope[] = {"nope"};
    CHECK(pitstore_latest(store, "user_stats", &keys[0], 1, 1, nope, 1, PITSTORE_TS_MIN, &r) == PITSTORE_ENOTFOUND);
    CHECK(strstr(pitstore_errmsg(), "has no feature 'nope'") != NULL);
    CHECK(pitstore_as_of(store, "user_stats", &keys[0], 1, 15 * DAY, PITSTORE_TS_MAX, nope, 1, &r) ==
          PITSTORE_ENOTFOUND);
    CHECK(pitstore_history(store, "user_stats", &keys[0], 1, PITSTORE_TS_MIN, PITSTORE_TS_MAX, PITSTORE_TS_MAX, nope, 1,
                           &r) == PITSTORE_ENOTFOUND);
  }

  /* A key of the wrong type is refused. */
  pitstore_value wrong = Str("1");
  CHECK(pitstore_as_of(store, "user_stats", &wrong, 1, 15 * DAY, PITSTORE_TS_MAX, NULL, 0, &r) == PITSTORE_EINVAL);

  /* Reopened read-only (as a shipped store is): reads work, writes are refused. */
  pitstore_close(store);
  pitstore_store* ro = NULL;
  CHECK(pitstore_open(path, PITSTORE_OPEN_READ_ONLY, &ro) == PITSTORE_OK);
  if (!ro) return 1;
  CHECK(pitstore_as_of(ro, "user_stats", &keys[1], 1, 25 * DAY, PITSTORE_TS_MAX, NULL, 0, &r) == PITSTORE_OK);
  CHECK(pitstore_result_value(r, 0, 0).u.i64 == 21);
  pitstore_result_free(r);
  pitstore_batch* none = NULL;
  CHECK(pitstore_batch_new(&none) == PITSTORE_OK);
  CHECK(pitstore_append(ro, "user_stats", none, 1) == PITSTORE_EINVAL);
  pitstore_batch_free(none);
  pitstore_close(ro);
  CHECK(strcmp(pitstore_strerror(PITSTORE_ECORRUPTION), "corruption") == 0);

  if (failures) {
    fprintf(stderr, "c_api_test: %d checks failed\n", failures);
    return 1;
  }
  printf("c_api_test: every check passed\n");
  return 0;
}
