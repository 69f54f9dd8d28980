-- wrk script for Benchmarks/run.
--
-- BENCH_POST_BYTES=N  sends every request as a POST with an N-byte body (else GET).
-- BENCH_AUTH=VALUE    adds "Authorization: VALUE" (used for run (a), straight at the upstream, which checks it).
--
-- done() prints one line "BENCH_JSON {...}" with the counts, errors and latency percentiles in microseconds,
-- which Benchmarks/run parses; wrk's own text output is kept for people.

local post_bytes = tonumber(os.getenv("BENCH_POST_BYTES") or "0")
if post_bytes and post_bytes > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("x", post_bytes)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
