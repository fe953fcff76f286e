-- wrk script for bench/load.py: rotate over the paths given after `--`, count the responses
-- by status class, and print one machine-readable summary line (LOADJSON {...}) at the end.
--
--   wrk -t2 -c50 -d60s --latency -s bench/load.lua http://127.0.0.1:8000 -- / /topics/
--
-- Each wrk thread has its own Lua state: setup() keeps a handle on every thread so done()
-- can add up their counters.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for _, path in ipairs(args) do
    table.insert(paths, path)
  end
  if #paths == 0 then
    paths = { "/" }
  end
  -- Threads start at different places in the rotation, so the mix is even from the start.
  index = id % #paths
  ok = 0
  redirects = 0
  cache_hits = 0
  bad = 0
  statuses = ""
  seen = {}
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end

function response(status, headers, body)
  -- topicshare/pagecache.py marks pages served from the anonymous page cache.
  if headers["X-Page-Cache"] == "hit" then
    cache_hits = cache_hits + 1
  end
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status >= 300 and status < 400 then
    redirects = redirects + 1
  else
    bad = bad + 1
    seen[status] = (seen[status] or 0) + 1
    local parts = {}
    for code, count in pairs(seen) do
      table.insert(parts, code .. ":" .. count)
    end
    statuses = table.concat(parts, ",")
  end
end

function done(summary, latency, requests)
  local total_ok, total_redirects, total_hits, total_bad, bad_statuses = 0, 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_redirects = total_redirects + (thread:get("redirects") or 0)
    total_hits = total_hits + (thread:get("cache_hits") or 0)
    total_bad = total_bad + (thread:get("bad") or 0)
    local text = thread:get("statuses") or ""
    if text ~= "" then
      table.insert(bad_statuses, text)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'LOADJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status_errors": %d, ' ..
    '"ok": %d, "redirects": %d, "cache_hits": %d, "bad": %d, "bad_statuses": "%s"}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.timeout, e.status,
    total_ok, total_redirects, total_hits, total_bad, table.concat(bad_statuses, ";")))
end
