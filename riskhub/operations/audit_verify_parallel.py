"""`riskhub audit verify` on several cores: contiguous slices of the chain checked side by side.

Each worker process reads its slice over its own read-only driver connection (never the
application's engine, whose SQLite transactions take the writer turn) and checks links, hashes
and checkpoints with the same `check_rows` as the one-process walk; the slices are then
stitched by checking each one starts where the one before it ended. Only entries up to the head
read in the verifier's snapshot are walked: they are append-only, so the slices agree.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Connection, func, select

from riskhub.audit import ChainProblem
from riskhub.models.audit import GENESIS_HASH, AccessLogEntry
from riskhub.operations.audit_checkpoints import Pinned
from riskhub.operations.audit_verify import BATCH, Progress, SliceState, check_rows, good_pins, hashed_columns


@dataclass
class _Slice:
    first: int
    last: int
    walked: int  # the last entry checked in order (first - 1 if none)
    first_prev: bytes | None
    last_digest: bytes | None
    problem: ChainProblem | None


def _raw_rows(source: dict[str, Any], sql: str, counter: Any) -> Iterator[list[Any]]:
    """Stream a query's rows in batches over a plain driver connection of this process."""
    if source["dialect"] == "sqlite":
        sqlite_connection = sqlite3.connect(f"file:{source['path']}?mode=ro", uri=True)
        try:
            cursor = sqlite_connection.execute(sql)
            while batch := cursor.fetchmany(BATCH):
                yield batch
                with counter.get_lock():
                    counter.value += len(batch)
        finally:
            sqlite_connection.close()
        return
    import psycopg

    with psycopg.connect(source["conninfo"], **source["connect_args"]) as pg_connection, \
            pg_connection.cursor(name="riskhub_verify") as named:
        named.itersize = BATCH
        named.execute(sql)
        while batch := named.fetchmany(BATCH):
            yield batch
            with counter.get_lock():
                counter.value += len(batch)


def _walk_slice(source: dict[str, Any], sql: str, first: int, last: int, pins: dict[int, bytes],
                counter: Any) -> _Slice:
    """Check entries first..last on their own (run in a worker process)."""
    state = SliceState(expected_seq=first, last_digest=None)
    for batch in _raw_rows(source, sql, counter):
        problem = check_rows(batch, pins, state)
        if problem:
            return _Slice(first, last, state.expected_seq - 1, state.first_prev, state.last_digest, problem)
    # Ending before `last` is judged when the slices are stitched: a gap or a cut tail.
    return _Slice(first, last, state.expected_seq - 1, state.first_prev, state.last_digest, None)


_counter: Any = None  # set in each worker process by _start_worker


def _start_worker(counter: Any) -> None:
    global _counter
    _counter = counter


def _run_slice(source: dict[str, Any], sql: str, first: int, last: int, pins: dict[int, bytes]) -> _Slice:
    return _walk_slice(source, sql, first, last, pins, _counter)


def _source(connection: Connection) -> dict[str, Any]:
    url = connection.engine.url
    if connection.dialect.name == "sqlite":
        return {"dialect": "sqlite", "path": url.database}
    options = current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    return {"dialect": "postgresql", "connect_args": dict(options.get("connect_args") or {}),
            "conninfo": url.set(drivername="postgresql").render_as_string(hide_password=False)}


def walk_parallel(connection: Connection, head_seq: int, pins: dict[int, Pinned], progress: Progress | None,
                   workers: int) -> tuple[int, bytes, ChainProblem | None]:
    """The same checks as `_walk`, on `workers` contiguous slices at once, stitched in order."""
    table = AccessLogEntry.__table__
    columns = hashed_columns(connection.dialect.name)
    size = -(-head_seq // workers)
    bounds = [(first, min(first + size - 1, head_seq)) for first in range(1, head_seq + 1, size)]
    good = good_pins(pins)
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    source = _source(connection)
    with ProcessPoolExecutor(len(bounds), mp_context=context, initializer=_start_worker,
                             initargs=(counter,)) as pool:
        futures: list[Future[_Slice]] = []
        for first, last in bounds:
            sql = str(select(*columns).select_from(table).where(table.c.seq.between(first, last))
                      .order_by(table.c.seq).compile(connection, compile_kwargs={"literal_binds": True}))
            futures.append(pool.submit(_run_slice, source, sql, first, last,
                                       {s: h for s, h in good.items() if first <= s <= last}))
        shown = 0
        while True:
            done, pending = wait(futures, timeout=0.25, return_when=FIRST_EXCEPTION)
            if progress and counter.value > shown:
                progress(counter.value - shown)
                shown = counter.value
            if not pending or any(f.exception() for f in done):
                break
        slices = [f.result() for f in futures]
    before = GENESIS_HASH
    for piece in slices:
        if piece.walked >= piece.first and piece.first_prev != before:
            return piece.first - 1, before, ChainProblem(
                piece.first, "does not follow the entry before it: an entry was inserted, deleted or reordered here")
        if piece.problem:
            return piece.walked, piece.last_digest or before, piece.problem
        before = piece.last_digest or before
        if piece.walked < piece.last:  # the slice ended early: entries after it were deleted
            following = connection.execute(select(func.min(table.c.seq)).where(table.c.seq > piece.walked)).scalar()
            if following is None:  # nothing after it: a cut tail, which the end check names
                return piece.walked, before, None
            return piece.walked, before, ChainProblem(
                piece.walked + 1, f"is missing (the next entry is {following}): deleted or renumbered")
    # Entries past the head were written outside the application: count them as walked so
    # that the end check names them.
    beyond = connection.execute(select(func.max(table.c.seq))).scalar() or 0
    return max(head_seq, beyond if beyond > head_seq else head_seq), before, None
