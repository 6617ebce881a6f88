// The feature server (`pitstore serve`): Feast's HTTP JSON protocol over a Store, so that
// Feast's clients (and any HTTP client) read features from pitstore unchanged.
//
//   POST /get-online-features   Feast's request and answer, column-major; pitstore adds "as_of"
//                               and "known_at" (RFC 3339 or microseconds) for as-of reads
//   POST /push                  {"push_source_name" (a view), "df": {column: [values]}, "to"}:
//                               the rows commit as one batch (one store: every "to" writes them)
//   POST /write-to-online-store {"feature_view_name", "df"}: the same
//   GET  /health                200 when the store reads its state, else 503
//   GET  /metrics               Prometheus text: requests, latency, keys, statuses, commits,
//                               freshness per view
//   GET  /views                 the registry as JSON
//
// Errors: {"message": ...} with 400 (malformed JSON), 404 (unknown view, feature, service),
// 413 (body too large), 422 (a value of the wrong type, a bad row), 503 (busy), 500 (else).
// Built on cpp-httplib (Debian's libcpp-httplib-dev, a small library): a blocking server on a
// fixed thread pool fits requests that take microseconds of engine work; read and write
// timeouts keep a slow client from holding a thread for long.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pitstore/status.h"
#include "pitstore/store.h"

namespace pitstore::workflow {
class ShardedStore;
}

namespace pitstore::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 6566;  // Feast's
  int threads = 0;  // 0: 8 per core, at least 16 (a keep-alive connection holds a thread)
  size_t max_body_bytes = size_t{8} << 20;
  int timeout_seconds = 5;  // to read a request, or write an answer
};

class FeatureServer {
 public:
  explicit FeatureServer(Store& store, ServerOptions options = {});
  // Serves a sharded store (workflow/sharded_store.h): each entity row is answered by its
  // shard; /push is refused (405): shards change by builds, not by pushes. /health checks every
  // shard; /metrics sums view rows over the shards and gives each shard's commit sequence.
  explicit FeatureServer(workflow::ShardedStore& sharded, ServerOptions options = {});
  // The same, sharing ownership, so that ReplaceShards can let the old generation go.
  explicit FeatureServer(std::shared_ptr<workflow::ShardedStore> sharded, ServerOptions options = {});
  // Serves `next` (a new generation of the sharded store, as pitstore serve opens on SIGHUP)
  // from the next request on. Requests in flight finish on the shards they started with; those
  // close when the last such request ends (when the server owns them). Safe while serving.
  void ReplaceShards(std::shared_ptr<workflow::ShardedStore> next);
  ~FeatureServer();
  // Binds and serves until Stop() (from another thread or a signal handler's helper);
  // requests in flight finish first. Errors: the address cannot be bound.
  Status Run();
  void Stop();
  // The port bound (after Run has started listening; useful with port 0).
  int port() const;

  // The handlers, without HTTP (tests call them directly): status code and JSON body.
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  Reply GetOnlineFeatures(const std::string& body);
  Reply Push(const std::string& body, bool write_to_online_store);
  Reply Health();
  Reply Metrics();
  Reply Views();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pitstore::server
