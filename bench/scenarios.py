"""What is measured against a served instance: one wrk run per page, signed-in clients."""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bench import clients, load
from bench.clients import Session
from bench.load import Call

CLIENTS = 8


@dataclass
class Budget:
    """How long and how much each measurement may run."""

    seconds: int
    max_requests: int
    signin_seconds: int
    signin_max_requests: int


SIGNIN_ALONE = "sign-in (1 client)"
SETTLE_SECONDS = 2


def read_and_written(manifest: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The manifest's cases split in two: those whose pages are measured, and (at most 50)
    those the assessment POSTs write to. Kept apart so a reused instance's case pages stay as
    generated however many runs it has seen."""
    cases = manifest["cases"]
    split = len(cases) - min(50, len(cases) // 2)
    return cases[:split], cases[split:]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _sessions(port: int, email: str, password: str, count: int = CLIENTS, form_page: str = "/cases/new",
              ) -> list[Session]:
    return [clients.sign_in(port, email, password, form_page) for _ in range(count)]


def _cycle(paths: list[str], sessions: list[Session], method: str = "GET",
           body: Callable[[Session, str], str] | None = None) -> list[Call]:
    """Every path with every session, interleaved so concurrent clients read different pages."""
    calls = []
    for number, path in enumerate(paths * max(1, len(sessions) // max(1, len(paths)))):
        session = sessions[number % len(sessions)]
        calls.append(Call(method, path, body(session, path) if body else "", session.cookie))
    return calls


def _assessment_body(port: int, session: Session, reference: str) -> Callable[[Session, str], str]:
    """A complete survivor-side checklist, field names read from the real form."""
    page = clients.check(port, f"/cases/{reference}/assessments/new/survivor", session)
    items = sorted(set(re.findall(r'name="(item_[^"]+)"', page)))
    if not items:
        raise RuntimeError("the assessment form has no questions")

    def body(signed_in: Session, _path: str) -> str:
        fields = {"csrf_token": signed_in.csrf, "assessed_on": date.today().isoformat(), "police_callouts": "2",
                  "notes": "Benchmark submission", **{name: ("yes" if i % 3 else "no") for i, name in enumerate(items)}}
        return urllib.parse.urlencode(fields)

    return body


def measure(port: int, manifest: dict[str, Any], budget: Budget, only: set[str] | None,
            audit_paths: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Sign clients in, check each page once, then measure each under 8 concurrent clients."""
    base, password = f"http://127.0.0.1:{port}", manifest["password"]
    practitioner = _sessions(port, manifest["practitioner"], password)
    chair = _sessions(port, manifest["meeting"]["chair"], password)
    owner = _sessions(port, manifest["my_actions_user"], password)
    references, written = read_and_written(manifest)
    meeting = manifest["meeting"]
    plans: dict[str, tuple[list[Call], int, bool]] = {}
    # One person signing in while nobody else is: what a user waits for at argon2's cost, as
    # against eight sign-ins at the same moment, which queue for the two cores.
    plans[SIGNIN_ALONE] = ([Call("POST", "/signin", clients.signin_body(s, manifest["practitioner"], password),
                                 s.cookie) for s in [clients.anonymous(port)]], 302, True)
    plans["sign-in"] = ([Call("POST", "/signin", clients.signin_body(s, manifest["practitioner"], password), s.cookie)
                         for s in (clients.anonymous(port) for _ in range(CLIENTS))], 302, True)
    plans["dashboard"] = (_cycle(["/"], practitioner), 200, False)
    plans["case page"] = (_cycle([f"/cases/{r}" for r in references], practitioner), 200, False)
    plans["agenda"] = (_cycle([f"/meetings/{meeting['reference']}"], chair), 200, False)
    plans["agenda view (run)"] = (_cycle([f"/meetings/{meeting['reference']}/run?item={i}" for i in meeting["items"]],
                                         chair), 200, False)
    plans["my actions"] = (_cycle(["/actions/mine"], owner), 200, False)
    body = _assessment_body(port, practitioner[0], written[0])
    plans["assessment POST"] = (_cycle([f"/cases/{r}/assessments/new/survivor" for r in written],
                                       practitioner, "POST", body), 302, False)
    if audit_paths:
        auditor = _sessions(port, manifest["auditor"], password, 4, "/audit/search")
        for label, paths in audit_paths.items():
            plans[label] = (_cycle(paths, auditor), 200, False)
    results: dict[str, dict[str, Any]] = {}
    for label, (calls, expected, is_signin) in plans.items():
        if only and label not in only:
            continue
        if expected == 200:
            clients.check(port, calls[0].path, Session(calls[0].cookie, ""))
        seconds = budget.signin_seconds if is_signin else budget.seconds
        cap = budget.signin_max_requests if is_signin else budget.max_requests
        time.sleep(SETTLE_SECONDS)  # requests still queued from the run before finish first
        before = load_average()
        connections = 1 if label == SIGNIN_ALONE else CLIENTS
        figures = load.run(base, calls, expected=expected, connections=connections, seconds=seconds,
                           max_requests=cap)
        figures["load_before"], figures["load_after"] = before, load_average()
        results[label] = figures
        print(f"    {label:<22} {figures['rps']:>8.1f} req/s  p50 {figures['p50_ms']:>7.1f}  "
              f"p95 {figures['p95_ms']:>7.1f}  p99 {figures['p99_ms']:>7.1f} ms"
              f"{'  (' + str(figures['unexpected_status']) + ' unexpected)' if figures['unexpected_status'] else ''}",
              flush=True)
    return results


def hello(port: int, budget: Budget) -> dict[str, Any]:
    before = load_average()
    figures = load.run(f"http://127.0.0.1:{port}", [Call("GET", "/")], connections=CLIENTS,
                       seconds=budget.seconds, max_requests=budget.max_requests * 5)
    figures["load_before"], figures["load_after"] = before, load_average()
    print(f"    {'hello (ceiling)':<22} {figures['rps']:>8.1f} req/s  p50 {figures['p50_ms']:>7.1f}  "
          f"p95 {figures['p95_ms']:>7.1f}  p99 {figures['p99_ms']:>7.1f} ms", flush=True)
    return figures
