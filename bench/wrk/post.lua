-- wrk script for the lip benchmark: POST one fixed body and print a JSON summary.
--
-- Environment (set by bench/run.py; BENCH_STAGGER_MS and BENCH_CONNECTIONS below):
--   BENCH_PATH       request path, e.g. /v1/chat/completions
--   BENCH_BODY_FILE  file holding the exact request body
--   BENCH_HEADERS    extra headers, "Name: value" pairs separated by "|"
--
-- No request()/response() hooks: wrk sends the static request built from wrk.* at full speed and already counts
-- responses with status > 399 in summary.errors.status, which done() reports.

local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^|:]+):%s*([^|]+)") do
   wrk.headers[name] = value
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "\nBENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"connect_errors\":%d,\"read_errors\":%d,"
         .. "\"write_errors\":%d,\"status_errors\":%d,\"timeouts\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,"
         .. "\"max_us\":%d,\"mean_us\":%.1f}\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end

-- Paced streams (BENCH_STAGGER_MS set): each connection's first request waits a random 0..BENCH_STAGGER_MS, so
-- that 1,000 streams' chunks do not all arrive in the same millisecond; later requests go at once (each stream
-- then keeps its phase). wrk calls delay() before every request of a thread's connections.
local stagger = tonumber(os.getenv("BENCH_STAGGER_MS") or "")
if stagger then
   local first = tonumber(os.getenv("BENCH_CONNECTIONS") or "0")
   local calls = 0
   math.randomseed(os.time())
   function delay()
      calls = calls + 1
      if calls <= first then
         return math.random(0, math.floor(stagger) - 1)
      end
      return 0
   end
end
