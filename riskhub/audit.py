"""Append to the access log (a SHA-256 hash chain) and verify it.

Appends happen inside the request's transaction, so an event and its record commit or fail
together. The chain head row is updated first: that takes a row lock on PostgreSQL and the
write lock on SQLite, which keeps the chain linear across workers and instances.

During a request, `record` only notes the entry; `write_pending` appends every noted entry
just before the request commits (see `riskhub.lifecycle`; `defer` turns this on, and bulk
jobs may use it too). The chain head is then locked for
the few milliseconds between those appends and the commit, not for the whole request, so
requests on different cases run side by side. If the appends or the commit fail, the request
answers 503 and shows nothing: no page is sent whose reading is not on record.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import Table, bindparam, insert, update

from riskhub.extensions import db
from riskhub.models.audit import GENESIS_HASH, AccessLogEntry, AuditChainHead
from riskhub.models.base import as_utc, utcnow
from riskhub.operations.audit_checkpoints import checkpoint_if_due

ALLOWED = "allowed"
DENIED = "denied"
# Allowed, but the request then failed and its changes were rolled back: the entry stays on
# record (what was read was read) without claiming that a change was made.
FAILED = "failed"


@dataclass(frozen=True)
class Actor:
    """Who acted, as recorded: identifiers and roles at the time, never a name."""

    user_id: uuid.UUID | None
    agency_id: uuid.UUID | None
    roles: str


SYSTEM = Actor(None, None, "system")


def actor_for(user: Any) -> Actor:
    """Describe a user (or the anonymous user) for the log."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(None, None, "")
    return Actor(user.id, user.agency_id, ",".join(sorted(r.value for r in user.roles)))


def ensure_chain_head() -> None:
    """Create the chain's head row if this database has none yet."""
    if db.session.get(AuditChainHead, 1) is None:
        db.session.add(AuditChainHead(id=1, seq=0, last_hash=GENESIS_HASH))
        db.session.flush()


# The columns a hash covers, in the order `canonical_values` takes them.
HASHED_COLUMNS = ("seq", "at", "user_id", "agency_id", "roles", "action", "object_type", "object_id",
                  "case_ref", "sections", "purpose", "outcome", "request_id", "client_address")

_quote = json.encoder.encode_basestring_ascii  # the C escaper json.dumps itself uses
# json.dumps(fields, sort_keys=True, separators=(",", ":")), written out: the keys in sorted
# order with each value escaped exactly as json.dumps escapes it. The verifier formats a
# million entries this way in a fraction of the time the general encoder needs.
_CANONICAL = ('{"action":%s,"agency_id":%s,"at":%s,"case_ref":%s,"client_address":%s,"object_id":%s,'
              '"object_type":%s,"outcome":%s,"purpose":%s,"request_id":%s,"roles":%s,"sections":%s,'
              '"seq":%d,"user_id":%s}')


def canonical_text(seq: int, *values: str | None) -> bytes:
    """The bytes an entry's hash covers, from `HASHED_COLUMNS` after seq, already written as text."""
    at, user_id, agency_id, roles, action, object_type, object_id, case_ref, sections, purpose, outcome, \
        request_id, client_address = ["null" if v is None else _quote(v) for v in values]
    return (_CANONICAL % (action, agency_id, at, case_ref, client_address, object_id, object_type, outcome,
                          purpose, request_id, roles, sections, seq, user_id)).encode()


def utc_text(at: datetime | None) -> str | None:
    """A time as the hash covers it: UTC, microseconds, whatever the database session's zone."""
    return as_utc(at).astimezone(UTC).isoformat(timespec="microseconds") if at is not None else None


def canonical_values(seq: int, at: datetime | None, user_id: Any, agency_id: Any, roles: str, action: str,
                     object_type: str | None, object_id: str | None, case_ref: str | None, sections: str,
                     purpose: str | None, outcome: str, request_id: str | None,
                     client_address: str | None) -> bytes:
    """The bytes an entry's hash covers: every column but the hashes, in a fixed form."""
    return canonical_text(seq, utc_text(at), str(user_id) if user_id else None,
                          str(agency_id) if agency_id else None, roles, action, object_type, object_id,
                          case_ref, sections, purpose, outcome, request_id, client_address)


def canonical_content(entry: AccessLogEntry) -> bytes:
    """The bytes an entry's hash covers (see `canonical_values`)."""
    return canonical_values(*(getattr(entry, name) for name in HASHED_COLUMNS))


def _request_facts() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return g.get("request_id"), request.remote_addr


def record(
    action: str,
    *,
    actor: Actor,
    outcome: str = ALLOWED,
    object_type: str | None = None,
    object_id: Any = None,
    case_ref: str | None = None,
    sections: Iterable[str] = (),
    purpose: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record one entry in the current transaction.

    Within a request the entry is appended by `write_pending` before the request commits;
    outside one (commands, jobs) it is appended at once.
    """
    facts = {
        "action": action,
        "actor": actor,
        "outcome": outcome,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "case_ref": case_ref,
        "sections": ",".join(sorted(set(sections))),
        "purpose": purpose,
        "at": at or utcnow(),
    }
    if deferring():
        g.setdefault("audit_facts", []).append(facts)
        # The change being recorded reaches the database now (its defaults filled in, its
        # constraints checked inside any savepoint), as an immediate append would have done.
        db.session.flush()
    else:
        _append(facts, None, None)


def defer() -> None:
    """From now on in this context, note entries and append them in `write_pending`, which
    must run before every commit (the request lifecycle does it for requests)."""
    g.audit_defer = True


def deferring() -> bool:
    return has_app_context() and bool(g.get("audit_defer"))


def commit_pending() -> None:
    """For bulk jobs that defer: append what is noted, commit, and forget it."""
    write_pending()
    db.session.commit()
    forget_pending()


def record_now(action: str, *, actor: Actor, object_type: str | None = None) -> Appended:
    """Append an entry at once (after any the request has noted) and return it, for its sequence number."""
    facts = {"action": action, "actor": actor, "outcome": ALLOWED, "object_type": object_type, "object_id": None,
             "case_ref": None, "sections": "", "purpose": None, "at": utcnow()}
    if not deferring():
        return _append(facts, *_request_facts())
    g.setdefault("audit_facts", []).append(facts)  # kept, so a replay after a rollback appends it again
    return write_pending()[-1]


def write_pending() -> list[Appended]:
    """Append the entries noted and not yet in the transaction, in the order they were recorded."""
    if not deferring():
        return []
    facts_list = g.setdefault("audit_facts", [])
    written = g.get("audit_written", 0)
    request_id, client_address = _request_facts()
    entries = _append_many(facts_list[written:], request_id, client_address)
    g.audit_written = len(facts_list)
    return entries


def forget_pending() -> None:
    """The entries noted so far were committed (or the request's work was abandoned): a replay
    after a later error appends only what is noted from now on."""
    g.audit_facts, g.audit_written = [], 0


def forget_written_after(marker: int) -> None:
    """A savepoint was rolled back: entries noted from `marker` on are no longer in the transaction."""
    g.audit_written = min(g.get("audit_written", 0), marker)


def _append(facts: dict[str, Any], request_id: str | None, client_address: str | None) -> Appended:
    return _append_many([facts], request_id, client_address)[0]


@dataclass(frozen=True)
class Appended:
    """Where an entry landed in the chain."""

    seq: int
    entry_hash: bytes


def chained_row(prev_hash: bytes, row: dict[str, Any]) -> bytes:
    """Set a row's prev_hash and entry_hash (a dict of `HASHED_COLUMNS`) and return its hash."""
    row["prev_hash"] = prev_hash
    row["entry_hash"] = digest = hashlib.sha256(
        prev_hash + canonical_values(*(row[name] for name in HASHED_COLUMNS))).digest()
    return digest


_ACCESS_LOG: Table = AccessLogEntry.__table__  # type: ignore[assignment]
_CHAIN_HEAD: Table = AuditChainHead.__table__  # type: ignore[assignment]
# Built once: the statements are the same on every append, so their cache keys are too.
_RESERVE = (update(_CHAIN_HEAD).where(_CHAIN_HEAD.c.id == 1)
            .values(seq=_CHAIN_HEAD.c.seq + bindparam("count"))
            .returning(_CHAIN_HEAD.c.seq, _CHAIN_HEAD.c.last_hash))
_SET_LAST = update(_CHAIN_HEAD).where(_CHAIN_HEAD.c.id == 1).values(last_hash=bindparam("last_hash"))
_INSERT = insert(_ACCESS_LOG)


def _append_many(facts_list: list[dict[str, Any]], request_id: str | None,
                 client_address: str | None) -> list[Appended]:
    """Append entries in order: one head update reserves their sequence numbers, one insert
    writes them all (a page listing 16 cases costs three statements, not 48). Written with
    SQL statements on the session's connection, in its transaction: the log is append-only,
    so nothing is gained by tracking its rows as objects in the session."""
    if not facts_list:
        return []
    count = len(facts_list)
    connection = db.session.connection()
    last_seq, prev_hash = connection.execute(_RESERVE, {"count": count}).one()
    prev_hash = bytes(prev_hash)
    rows, appended = [], []
    for seq, facts in enumerate(facts_list, start=last_seq - count + 1):
        actor: Actor = facts["actor"]
        row = {"seq": seq, "at": facts["at"], "user_id": actor.user_id, "agency_id": actor.agency_id,
               "roles": actor.roles, "action": facts["action"], "object_type": facts["object_type"],
               "object_id": facts["object_id"], "case_ref": facts["case_ref"], "sections": facts["sections"],
               "purpose": facts["purpose"], "outcome": facts["outcome"], "request_id": request_id,
               "client_address": client_address}
        prev_hash = chained_row(prev_hash, row)
        rows.append(row)
        appended.append(Appended(seq, prev_hash))
    connection.execute(_INSERT, rows)
    connection.execute(_SET_LAST, {"last_hash": prev_hash})
    for entry in appended:
        checkpoint_if_due(entry.seq, entry.entry_hash)
    return appended


def replay_request_entries() -> int:
    """After the request's work was rolled back, append its audit entries again.

    Denials and views shown on an error page must stay on record even though the change the
    request attempted does not; what was allowed is marked `FAILED`, so the log never says a
    change was made that was not.
    """
    if not has_request_context():
        return 0
    for facts in g.get("audit_facts", []):
        if facts["outcome"] == ALLOWED:
            facts["outcome"] = FAILED
    g.audit_written = 0
    return len(write_pending())


@dataclass(frozen=True)
class ChainProblem:
    """The first broken entry and what is wrong with it."""

    seq: int
    reason: str


def verify_chain() -> tuple[int, ChainProblem | None]:
    """Walk the chain and its checkpoints; return (entries checked, first problem or None)."""
    from riskhub.operations.audit_verify import verify

    result = verify()
    return result.entries, result.problem
