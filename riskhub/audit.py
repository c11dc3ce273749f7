"""Append to the access log (a SHA-256 hash chain) and verify it.

Appends happen inside the request's transaction, so an event and its record commit or fail
together. The chain head row is updated first: that takes a row lock on PostgreSQL and the
write lock on SQLite, which keeps the chain linear across workers and instances.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import select, update

from riskhub.extensions import db
from riskhub.models.audit import GENESIS_HASH, AccessLogEntry, AuditChainHead
from riskhub.models.base import as_utc, utcnow

ALLOWED = "allowed"
DENIED = "denied"


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


def canonical_content(entry: AccessLogEntry) -> bytes:
    """The bytes an entry's hash covers: every column but the hashes, in a fixed form."""
    at = as_utc(entry.at)
    fields = {
        "seq": entry.seq,
        "at": at.isoformat(timespec="microseconds") if at else None,
        "user_id": str(entry.user_id) if entry.user_id else None,
        "agency_id": str(entry.agency_id) if entry.agency_id else None,
        "roles": entry.roles,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "case_ref": entry.case_ref,
        "sections": entry.sections,
        "purpose": entry.purpose,
        "outcome": entry.outcome,
        "request_id": entry.request_id,
        "client_address": entry.client_address,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(prev_hash: bytes, entry: AccessLogEntry) -> bytes:
    return hashlib.sha256(prev_hash + canonical_content(entry)).digest()


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
) -> AccessLogEntry:
    """Append one entry to the chain in the current transaction and return it."""
    request_id, client_address = _request_facts()
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
    entry = _append(facts, request_id, client_address)
    if has_request_context():
        g.setdefault("audit_facts", []).append(facts)
    return entry


def _append(facts: dict[str, Any], request_id: str | None, client_address: str | None) -> AccessLogEntry:
    seq, prev_hash = db.session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(seq=AuditChainHead.seq + 1)
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)
    ).one()
    actor: Actor = facts["actor"]
    entry = AccessLogEntry(
        seq=seq,
        at=facts["at"],
        user_id=actor.user_id,
        agency_id=actor.agency_id,
        roles=actor.roles,
        action=facts["action"],
        object_type=facts["object_type"],
        object_id=facts["object_id"],
        case_ref=facts["case_ref"],
        sections=facts["sections"],
        purpose=facts["purpose"],
        outcome=facts["outcome"],
        request_id=request_id,
        client_address=client_address,
        prev_hash=bytes(prev_hash),
    )
    entry.entry_hash = entry_hash(entry.prev_hash, entry)
    db.session.add(entry)
    db.session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=entry.entry_hash)
    )
    return entry


def replay_request_entries() -> int:
    """After the request's work was rolled back, append its audit entries again.

    Denials and views shown on an error page must stay on record even though the change the
    request attempted does not.
    """
    facts_list = g.pop("audit_facts", [])
    request_id, client_address = _request_facts()
    for facts in facts_list:
        _append(facts, request_id, client_address)
    return len(facts_list)


@dataclass
class ChainProblem:
    seq: int
    reason: str


def iter_entries(batch: int = 5000) -> Iterator[AccessLogEntry]:
    """Every entry in chain order, fetched in batches."""
    last = 0
    while True:
        rows = db.session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.seq > last).order_by(AccessLogEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.session.expunge_all()


def verify_chain() -> tuple[int, ChainProblem | None]:
    """Walk the chain; return (entries checked, first problem or None)."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for entry in iter_entries():
        if entry.seq != expected_seq:
            return count, ChainProblem(expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
        if bytes(entry.prev_hash) != expected_prev:
            return count, ChainProblem(entry.seq, "does not follow the previous entry")
        if entry_hash(expected_prev, entry) != bytes(entry.entry_hash):
            return count, ChainProblem(entry.seq, "content was altered")
        expected_prev = bytes(entry.entry_hash)
        expected_seq += 1
        count += 1
    head = db.session.get(AuditChainHead, 1)
    if head is not None and head.seq != count:
        return count, ChainProblem(count + 1, f"chain ends at {count} but {head.seq} entries were written")
    if head is not None and bytes(head.last_hash) != expected_prev:
        return count, ChainProblem(count, "last entry does not match the chain head")
    return count, None
