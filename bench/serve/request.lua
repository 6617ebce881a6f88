-- wrk script: POST /get-online-features for ENTITIES random user ids (of 1,000,000) and the 10
-- features of the shared bench view; prints p50/p99/p99.9 latency and requests/s at the end.
local entities = tonumber(os.getenv("ENTITIES") or "1")
local max_id = tonumber(os.getenv("MAX_ID") or "1000000")
local features = '["user_stats:f0","user_stats:f1","user_stats:f2","user_stats:f3","user_stats:f4",' ..
                 '"user_stats:f5","user_stats:f6","user_stats:f7","user_stats:c0","user_stats:c1"]'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
request = function()
  local ids = {}
  for i = 1, entities do ids[i] = tostring(math.random(0, max_id - 1)) end
  local body = '{"features":' .. features .. ',"entities":{"user_id":[' .. table.concat(ids, ",") .. ']}}'
  return wrk.format(nil, "/get-online-features", nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests/s %.0f  p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
