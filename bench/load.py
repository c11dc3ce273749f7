"""Concurrent load with wrk and a generated Lua script: bounded in time and in requests.

Each scenario is a list of requests (method, path, body, cookie) that wrk cycles through on
every connection; the script counts responses with an unexpected status, stops a thread
after its share of the request budget, and prints the figures as one JSON line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRK = shutil.which("wrk") or "wrk"

_SCRIPT = """
local requests = {%(requests)s}
local expected = %(expected)d
local budget = %(budget)d
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  done_count = 0
  unexpected = 0
  position = id * 7
end

function request()
  position = position %% #requests + 1
  local r = requests[position]
  return wrk.format(r[1], r[2], {["Cookie"] = r[4], ["Content-Type"] = "application/x-www-form-urlencoded"},
                    r[3] ~= "" and r[3] or nil)
end

function response(status, headers, body)
  done_count = done_count + 1
  if status ~= expected then unexpected = unexpected + 1 end
  if done_count >= budget then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"unexpected_status":%%d,"socket_errors":%%d,' ..
    '"p50_ms":%%.2f,"p95_ms":%%.2f,"p99_ms":%%.2f,"max_ms":%%.2f,"mean_ms":%%.2f}\\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
"""


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: str = ""
    cookie: str = ""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script(calls: list[Call], expected: int, budget: int) -> str:
    rows = ",".join("{" + ",".join(_lua_string(v) for v in (c.method, c.path, c.body, c.cookie)) + "}"
                    for c in calls)
    return _SCRIPT % {"requests": rows, "expected": expected, "budget": budget}


def run(base: str, calls: list[Call], *, expected: int = 200, connections: int = 8, seconds: int = 15,
        max_requests: int = 20_000, threads: int = 2) -> dict[str, Any]:
    """Run wrk against 127.0.0.1 only; return requests/s and latency percentiles."""
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("the benchmark only ever targets 127.0.0.1")
    threads = min(threads, connections)  # wrk needs a connection per thread
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script(calls, expected, max(1, max_requests // threads)))
        path = Path(handle.name)
    try:
        result = subprocess.run([WRK, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                                 "--timeout", "30s", "-s", str(path), base + calls[0].path],
                                capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        path.unlink(missing_ok=True)
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures:\n{result.stdout}\n{result.stderr}")
    figures: dict[str, Any] = json.loads(line[len("WRKJSON "):])
    seconds_taken = figures["duration_us"] / 1e6
    figures["rps"] = round(figures["requests"] / seconds_taken, 1) if seconds_taken else 0.0
    figures["seconds"] = round(seconds_taken, 1)
    return figures
