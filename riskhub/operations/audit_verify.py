"""Verify the access log: walk the hash chain and the signed checkpoints, name the first break.

Built for millions of entries: one streaming query (a server-side cursor on PostgreSQL)
over only the hashed columns, plain tuples, no ORM objects. The walk runs in one snapshot
(REPEATABLE READ on PostgreSQL, one transaction on SQLite), so appends made meanwhile by
running instances are neither half-seen nor mistaken for tampering.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app, has_request_context
from sqlalchemy import Connection, literal_column, select

from riskhub.audit import HASHED_COLUMNS, ChainProblem, canonical_text
from riskhub.extensions import db
from riskhub.models.audit import GENESIS_HASH, AccessLogEntry, AuditChainHead, AuditCheckpoint
from riskhub.operations.audit_checkpoints import Pinned, check_signature

Progress = Callable[[int], None]
BATCH = 20_000
# From this many entries on, the walk is split into contiguous slices checked side by side,
# one process per core (up to MAX_WORKERS): hashing a million entries is CPU work, and the
# slices are stitched together by checking each one starts where the one before it ended.
PARALLEL_FROM = 100_000
MAX_WORKERS = 4


@dataclass
class VerifyResult:
    """What a verification found: entries walked, head, checkpoints checked, first problem."""

    entries: int = 0
    head_seq: int = 0
    checkpoints: int = 0
    last_checkpoint: int | None = None
    problem: ChainProblem | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.problem is None


def _snapshot(connection: Connection) -> Connection:
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="REPEATABLE READ")
    return connection


def _pinned_in_database(connection: Connection, keys: dict[str, Ed25519PublicKey]) -> list[Pinned]:
    table = AuditCheckpoint.__table__
    rows = connection.execute(select(table.c.seq, table.c.entry_hash, table.c.created_at, table.c.key_id,
                                     table.c.signature).order_by(table.c.seq))
    return [Pinned(seq, bytes(digest), check_signature(seq, bytes(digest), at, key_id, bytes(sig), keys))
            for seq, digest, at, key_id, sig in rows]


# The database writes times and ids as the hash covers them, which is far cheaper than
# building a datetime and a UUID in Python for each of a million rows.
_UTC_TEXT = {
    "postgresql": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'""",
    "sqlite": "replace(at, ' ', 'T') || '+00:00'",
}
_UUID_TEXT = {
    "postgresql": "CAST({0} AS TEXT)",
    "sqlite": ("lower(substr({0}, 1, 8) || '-' || substr({0}, 9, 4) || '-' || substr({0}, 13, 4) || '-' ||"
               " substr({0}, 17, 4) || '-' || substr({0}, 21))"),
}


def hashed_columns(dialect: str) -> list[Any]:
    table = AccessLogEntry.__table__
    if dialect not in _UTC_TEXT:
        raise NotImplementedError(f"verification is written for PostgreSQL and SQLite, not {dialect}")
    special: dict[str, Any] = {"at": literal_column(_UTC_TEXT[dialect]),
               "user_id": literal_column(_UUID_TEXT[dialect].format("user_id")),
               "agency_id": literal_column(_UUID_TEXT[dialect].format("agency_id"))}
    return [special.get(name, table.c[name]) for name in HASHED_COLUMNS] + [table.c.prev_hash, table.c.entry_hash]


def check_rows(rows: Iterable[Any], pins: dict[int, bytes], state: SliceState) -> ChainProblem | None:
    """Check rows in sequence order against the state of the walk so far; update it."""
    sha256 = hashlib.sha256
    for row in rows:
        seq, prev, digest = row[0], bytes(row[14]), bytes(row[15])
        if seq != state.expected_seq:
            return ChainProblem(state.expected_seq, f"is missing (the next entry is {seq}): deleted or renumbered")
        if state.first_prev is None:
            state.first_prev = prev
            if state.last_digest is not None and prev != state.last_digest:
                return ChainProblem(seq, "does not follow the entry before it: an entry was inserted, deleted or"
                                         " reordered here")
        elif prev != state.last_digest:
            return ChainProblem(seq, "does not follow the entry before it: an entry was inserted, deleted or"
                                     " reordered here")
        if sha256(prev + canonical_text(*row[:14])).digest() != digest:
            return ChainProblem(seq, "was altered after it was written")
        pinned = pins.get(seq)
        if pinned is not None and pinned != digest:
            return ChainProblem(seq, "differs from its signed checkpoint: the chain was rewritten from here or before")
        state.last_digest, state.expected_seq = digest, seq + 1
    return None


@dataclass
class SliceState:
    """Where a walk (or one slice of it) has got to."""

    expected_seq: int
    last_digest: bytes | None  # the last entry checked (before the slice: unknown, None)
    first_prev: bytes | None = None  # the first entry's link back, for stitching slices together


def good_pins(pins: dict[int, Pinned]) -> dict[int, bytes]:
    return {seq: pin.entry_hash for seq, pin in pins.items() if pin.problem is None}


def _walk(connection: Connection, pins: dict[int, Pinned], progress: Progress | None,
          result: VerifyResult) -> tuple[int, bytes, ChainProblem | None]:
    """Check every entry links to the one before and matches any checkpoint pinning it."""
    table = AccessLogEntry.__table__
    stream = connection.execution_options(stream_results=True, yield_per=BATCH).execute(
        select(*hashed_columns(connection.dialect.name)).select_from(table).order_by(table.c.seq))
    state = SliceState(expected_seq=1, last_digest=GENESIS_HASH)
    good = good_pins(pins)
    for batch in stream.partitions(BATCH):
        problem = check_rows(batch, good, state)
        if problem:
            return state.expected_seq - 1, state.last_digest or GENESIS_HASH, problem
        if progress:
            progress(len(batch))
    return state.expected_seq - 1, state.last_digest or GENESIS_HASH, None


def _end_problem(walked: int, last_hash: bytes, head: tuple[int, bytes] | None,
                 pins: Iterable[Pinned]) -> ChainProblem | None:
    """The truncated or extended tail: the head row and the checkpoints say where the chain ends."""
    if head is None:
        return ChainProblem(1, "cannot be checked: the chain head row is missing") if walked else None
    head_seq, head_hash = head
    if walked < head_seq:
        return ChainProblem(walked + 1, f"is missing: the chain ends at entry {walked} but {head_seq} entries"
                                        " were written, so the tail was removed")
    if walked > head_seq:
        return ChainProblem(head_seq + 1, f"was added outside the application (the chain head says {head_seq}"
                                          " entries were written)")
    if head_hash != last_hash:
        return ChainProblem(walked, "does not match the chain head")
    beyond = [p.seq for p in pins if p.seq > walked and p.problem is None]
    if beyond:
        return ChainProblem(walked + 1, f"is missing: a signed checkpoint pins entry {min(beyond)} but the chain"
                                        f" ends at {walked}, so the tail was removed")
    return None


def verify(progress: Progress | None = None, keys: dict[str, Ed25519PublicKey] | None = None,
           external: Iterable[Pinned] = (), start: Callable[[int], None] | None = None) -> VerifyResult:
    """Walk the whole chain and every checkpoint (plus any exported ones given); report the first break."""
    keys = keys if keys is not None else _application_keys()
    result = VerifyResult()
    with _snapshot(db.engine.connect()) as connection, connection.begin():
        head_table = AuditChainHead.__table__
        head_row = connection.execute(select(head_table.c.seq, head_table.c.last_hash)
                                      .where(head_table.c.id == 1)).one_or_none()
        head = (head_row[0], bytes(head_row[1])) if head_row else None
        result.head_seq = head[0] if head else 0
        if start:
            start(result.head_seq)
        stored = _pinned_in_database(connection, keys)
        pins = [*stored, *external]
        # Worker processes only from the command line: forking a threaded web worker is unsafe.
        workers = 1 if has_request_context() else min(MAX_WORKERS, os.cpu_count() or 1)
        if result.head_seq >= PARALLEL_FROM and workers > 1:
            from riskhub.operations.audit_verify_parallel import walk_parallel

            walked, last_hash, chain_problem = walk_parallel(connection, result.head_seq, {p.seq: p for p in pins},
                                                             progress, workers)
        else:
            walked, last_hash, chain_problem = _walk(connection, {p.seq: p for p in pins}, progress, result)
    result.entries = walked
    result.checkpoints = len(stored)
    result.last_checkpoint = stored[-1].seq if stored else None
    problems = [ChainProblem(p.seq, p.problem) for p in pins if p.problem]
    if chain_problem:
        problems.append(chain_problem)
    else:
        end = _end_problem(walked, last_hash, head, pins)
        if end:
            problems.append(end)
    result.problem = min(problems, key=lambda p: p.seq) if problems else None
    if not stored:
        result.warnings.append("there is no signed checkpoint yet: run `riskhub audit checkpoint`")
    result.warnings.extend(_gaps(stored, walked))
    return result


def _gaps(stored: list[Pinned], walked: int) -> list[str]:
    """Automatic checkpoints that should exist after the first one but do not."""

    every = int(current_app.config.get("AUDIT_CHECKPOINT_EVERY") or 0)
    if every <= 0 or not stored:
        return []
    have = {p.seq for p in stored}
    first = -(-stored[0].seq // every) * every
    missing = [seq for seq in range(first, walked + 1, every) if seq not in have]
    if not missing:
        return []
    shown = ", ".join(str(s) for s in missing[:5]) + (" ..." if len(missing) > 5 else "")
    return [f"no checkpoint at entries {shown} (expected every {every} entries)"]


def _application_keys() -> dict[str, Ed25519PublicKey]:
    """The public half of the configured signing key, by key id (empty if none is configured)."""
    from riskhub.operations.audit_checkpoints import SigningKeyError, key_id_of, load_signing_key

    try:
        public = load_signing_key().public_key()
    except SigningKeyError:
        return {}
    return {key_id_of(public): public}


def summary(result: VerifyResult) -> str:
    """One line for the access log's purpose column and the command's output (no personal data)."""
    if result.problem:
        return f"broken: entry {result.problem.seq} {result.problem.reason}"[:200]
    return f"intact: {result.entries} entries, {result.checkpoints} checkpoints"


def as_keys(public_keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    """Index public keys by their key id."""
    from riskhub.operations.audit_checkpoints import key_id_of

    return {key_id_of(k): k for k in public_keys}


def record_verification(result: VerifyResult, actor: Any) -> None:
    """Put the verification and its outcome on the log itself (the dashboard reads it back)."""
    from riskhub import audit

    audit.record("audit.verify", actor=actor, object_type="audit_log", purpose=summary(result))
