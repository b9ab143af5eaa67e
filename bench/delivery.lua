-- wrk script for bench/ingest.py: every request is a single-alert Alertmanager v4 delivery with
-- a fingerprint never sent before, PREFIX (wrk's argument after `--`) followed by a counter.
-- At the end it prints the counts bench/ingest.py reads.
--   wrk -t1 -c16 -d5s -s bench/delivery.lua URL -- PREFIX

local prefix = "wrk"
local sent = 0
local headers = { ["Content-Type"] = "application/json" }
local template = '{"version":"4","status":"firing","receiver":"stabilog",'
  .. '"groupKey":"{}:{alertname=\\"PayGatewayErrors\\"}","truncatedAlerts":0,"alerts":[{'
  .. '"status":"firing","labels":{"alertname":"PayGatewayErrors","service":"履约",'
  .. '"severity":"warning","instance":"pay-%d"},'
  .. '"annotations":{"summary":"gateway errors above 1%% on pay-%d"},'
  .. '"startsAt":"2023-09-07T06:42:00Z","endsAt":"0001-01-01T00:00:00Z",'
  .. '"generatorURL":"http://prometheus:9090/graph","fingerprint":"%s%010d"}]}'

function init(args)
  prefix = args[1] or prefix
end

function request()
  sent = sent + 1
  local instance = sent % 50
  local body = string.format(template, instance, instance, prefix, sent)
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%d non2xx=%d socket_errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests,
    errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000
  ))
end
