// Mutex and MutexLock: std::mutex with clang's thread-safety annotations, so what a mutex guards
// (GUARDED_BY) and what a function needs held (REQUIRES) is checked when compiling with clang
// (-Wthread-safety; CI's TSan build compiles the engine that way with -Werror).
#pragma once

#include <mutex>

#if defined(__clang__)
#define PITSTORE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PITSTORE_THREAD_ANNOTATION(x)
#endif
#define CAPABILITY(x) PITSTORE_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY PITSTORE_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) PITSTORE_THREAD_ANNOTATION(guarded_by(x))
#define REQUIRES(...) PITSTORE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) PITSTORE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) PITSTORE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) PITSTORE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

namespace pitstore {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace pitstore
