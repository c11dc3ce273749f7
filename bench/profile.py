"""Where a page's time goes: cProfile and a count of SQL statements, through the test client.

    RISKHUB_INSTANCE_PATH=/tmp/some-bench-instance python -m bench.profile [--repeat 60]

Uses an instance made by `riskhub bench-data` (its manifest says whom to sign in as) and
profiles the case page, the agenda and the chair's agenda view.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from bench.scenarios import read_and_written
from riskhub import sqlite_lock

_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def signed_in(app: Flask, email: str, password: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    token = _CSRF.search(page)
    assert token, "no CSRF token on the sign-in page"
    response = client.post("/signin", data={"csrf_token": token.group(1), "email": email, "password": password})
    assert response.status_code == 302, f"sign-in refused ({response.status_code})"
    return client


def _shape(statement: str) -> str:
    """A statement with its parameters' positions kept: repeated shapes are N+1 candidates."""
    words = " ".join(statement.split())
    return words[:110]


def profile(app: Flask, client: FlaskClient, paths: list[str], repeat: int, by_own_time: bool = False
            ) -> dict[str, Any]:
    """Time each request, count its statements by shape, and profile the lot."""
    from riskhub.extensions import db

    shapes: Counter[str] = Counter()
    with app.app_context():
        engine = db.engine

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        shapes[_shape(statement)] += 1

    # How long each request keeps a transaction open: on SQLite that is the single writer's
    # turn, which every other request waits for (the session lookup before it takes none).
    opened: list[float | None] = []
    held = [0.0]

    def begin(_conn: Any) -> None:
        opened.append(None if sqlite_lock.reads_only() else time.perf_counter())

    def end(_conn: Any) -> None:
        started = opened.pop() if opened else None
        if started is not None:
            held[0] += time.perf_counter() - started

    event.listen(engine, "before_cursor_execute", count)
    for n in range(10):  # warm caches (templates, compiled SQL, the database's pages) before measuring
        path = paths[n % len(paths)]
        assert client.get(path).status_code == 200, path
    shapes.clear()
    profiler = cProfile.Profile()
    timings, cpu = [], []
    requests = [paths[i % len(paths)] for i in range(repeat)]
    turns = []
    for path in requests:  # timed without the profiler, then profiled
        started, started_cpu = time.perf_counter(), time.process_time()
        held[0] = 0.0
        for name, listener in (("begin", begin), ("commit", end), ("rollback", end)):
            event.listen(engine, name, listener)
        try:
            response = client.get(path)
        finally:
            for name, listener in (("begin", begin), ("commit", end), ("rollback", end)):
                event.remove(engine, name, listener)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        turns.append(held[0] * 1000)
        assert response.status_code == 200, (path, response.status_code)
        profiler.enable()
        client.get(path)
        profiler.disable()
    event.remove(engine, "before_cursor_execute", count)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    if by_own_time:  # every function, the driver's and the libraries' included
        stats.sort_stats("tottime").print_stats(28)
    else:
        stats.sort_stats("cumulative").print_stats(r"riskhub|jinja2|sqlalchemy/orm/(session|loading)|crypto", 28)
    timings.sort()
    cpu.sort()
    turns.sort()
    return {
        "requests": len(requests), "median_ms": round(timings[len(timings) // 2], 1),
        "median_cpu_ms": round(cpu[len(cpu) // 2], 1), "median_transaction_ms": round(turns[len(turns) // 2], 1),
        "statements_per_request": round(sum(shapes.values()) / len(requests) / 2, 1),
        "top_statements": [(n / len(requests) / 2, s) for s, n in shapes.most_common(8)],
        "profile": text.getvalue(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--full", action="store_true", help="print the whole cProfile listing")
    parser.add_argument("--own-time", action="store_true",
                        help="sort by each function's own time, over every function, not by cumulative time")
    parser.add_argument("--only", default="", help="profile only these pages (comma-separated labels)")
    options = parser.parse_args()
    from riskhub import create_app

    manifest = json.loads((Path(os.environ["RISKHUB_INSTANCE_PATH"]) / "bench-manifest.json").read_text())
    app = create_app()
    meeting = manifest["meeting"]
    pages = {
        "case page": (manifest["practitioner"], [f"/cases/{r}" for r in read_and_written(manifest)[0][:20]]),
        "agenda": (meeting["chair"], [f"/meetings/{meeting['reference']}"]),
        "agenda view (run)": (meeting["chair"], [f"/meetings/{meeting['reference']}/run?item={i}"
                                                 for i in meeting["items"]]),
        "my actions": (manifest["my_actions_user"], ["/actions/mine"]),
        "dashboard": (manifest["practitioner"], ["/"]),
    }
    wanted = {label.strip() for label in options.only.split(",") if label.strip()} or set(pages)
    for label, (email, paths) in pages.items():
        if label not in wanted:
            continue
        client = signed_in(app, email, manifest["password"])
        found = profile(app, client, paths, options.repeat, options.own_time)
        print(f"\n=== {label}: median {found['median_ms']} ms in-process ({found['median_cpu_ms']} ms CPU, "
              f"{found['median_transaction_ms']} ms in a transaction), "
              f"{found['statements_per_request']} SQL statements per request")
        for per_request, shape in found["top_statements"]:
            print(f"  {per_request:6.1f} x  {shape}")
        listing = found["profile"]
        print(listing if options.full else "\n".join(listing.splitlines()[:40]))


if __name__ == "__main__":
    main()
