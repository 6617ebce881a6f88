// Helpers shared by the tests: a temporary directory removed at the end of each test, and
// shorthands for building definitions and rows.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "pitstore/store.h"

namespace pitstore::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pitstore-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (!p) std::abort();
    path_ = p;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::pitstore::Status _s = (expr);                         \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

template <typename T>
T Unwrap(Result<T> r, const char* what) {
  if (!r.ok()) {
    ADD_FAILURE() << what << ": " << r.status().ToString();
    std::abort();
  }
  return std::move(r).value();
}
#define UNWRAP(expr) ::pitstore::testing::Unwrap((expr), #expr)

inline EntityDef IntEntity(const std::string& name, const std::string& key) {
  return EntityDef{name, {{key, KeyType::kInt64}}, ""};
}

// A store at `path` with entity `user` (int64 key user_id) and view `v` of one int64 feature `n`.
inline std::unique_ptr<Store> NewUserStore(const std::string& path) {
  auto store = Unwrap(Store::Open(path), "Store::Open");
  EXPECT_TRUE(store->DefineEntity(IntEntity("user", "user_id")).ok());
  EXPECT_TRUE(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}).ok());
  return store;
}

}  // namespace pitstore::testing

namespace pitstore {
// Readable gtest output for values.
inline void PrintTo(const Value& v, std::ostream* os) { *os << v.ToString(); }
}  // namespace pitstore
