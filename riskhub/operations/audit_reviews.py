"""The auditor's review queues and the chain status on their dashboard.

Queues look back AUDIT_REVIEW_DAYS and page by seq, so each page's work is bounded.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, func, or_, select

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency, AgencyKind, User
from riskhub.models.audit import AccessLogEntry, AuditChainHead, AuditCheckpoint
from riskhub.models.base import as_utc, utcnow
from riskhub.models.cases import Case, CaseAgency, EmergencyAccess
from riskhub.operations import OperationError
from riskhub.operations.audit_search import (
    Entry,
    Page,
    agency_names,
    agency_scope,
    cursor,
    entries,
    in_scope,
    page_of,
    timezone,
    user_names,
    with_names,
)

JUSTIFIED = "justified"
NOT_JUSTIFIED = "not_justified"
SCAN_BUDGET = 20_000  # entries one page of a Python-filtered queue may read before it stops
# Looking at a case's existence (the duplicate check) is not access to its content.
NOT_CASE_CONTENT = ("case.duplicate_check",)


def reviewed_actions() -> ColumnElement[bool]:
    """Which entries the outsiders and bulk-access queues weigh: access to case content, and a
    perpetrator programme's duplicate checks too, since typing her name and date of birth there
    asks whether she is known to the meeting."""
    c = AccessLogEntry.__table__.c
    programmes = select(Agency.id).where(Agency.kind == AgencyKind.PERPETRATOR_PROGRAMME)
    return or_(c.action.not_in(NOT_CASE_CONTENT), c.agency_id.in_(programmes))


def review_since() -> datetime:
    return utcnow() - timedelta(days=int(current_app.config["AUDIT_REVIEW_DAYS"]))


# Emergency access -------------------------------------------------------------------------


def grants_in_scope(query: Select[Any]) -> Select[Any]:
    """`query` over emergency grants, limited to those taken by the request's agency scope, if any."""
    scope = agency_scope()
    if scope is None:
        return query
    return query.where(EmergencyAccess.user_id.in_(select(User.id).where(User.agency_id == scope)))


def emergency_grants(pending_only: bool = False, limit: int = 200) -> list[EmergencyAccess]:
    """Grants awaiting a decision first, then the most recent."""
    query = grants_in_scope(select(EmergencyAccess))
    if pending_only:
        query = query.where(EmergencyAccess.reviewed_at.is_(None))
    query = query.order_by(EmergencyAccess.reviewed_at.is_not(None), EmergencyAccess.granted_at.desc())
    return list(db.session.scalars(query.limit(limit)))


def pending_emergency_count() -> int:
    return db.session.scalar(grants_in_scope(select(func.count()).select_from(EmergencyAccess))
                             .where(EmergencyAccess.reviewed_at.is_(None))) or 0


def review_emergency_access(grant: EmergencyAccess, outcome: str, note: str, *, reviewer: User) -> None:
    """Record the auditor's decision on a grant: who, when, justified or not, and why (encrypted)."""
    # Read again under a row lock (PostgreSQL; SQLite runs one writer at a time): a second auditor
    # deciding at the same moment waits for the first, then is told it is done.
    db.session.execute(select(EmergencyAccess.id).where(EmergencyAccess.id == grant.id).with_for_update())
    db.session.refresh(grant)
    if grant.reviewed_at is not None:
        raise OperationError("This emergency access has already been reviewed", "outcome")
    if outcome not in (JUSTIFIED, NOT_JUSTIFIED):
        raise OperationError("Say whether the emergency access was justified", "outcome")
    if not note.strip():
        raise OperationError("Explain your decision", "note")
    grant.reviewer_id, grant.reviewed_at, grant.review_outcome = reviewer.id, utcnow(), outcome
    grant.review_note = note.strip()
    db.session.flush()
    reference = db.session.scalar(select(Case.reference).where(Case.id == grant.case_id))
    audit.record("audit.emergency_review", actor=audit.actor_for(reviewer), object_type="emergency_access",
                 object_id=grant.id, case_ref=reference, purpose=outcome)


def grant_activity(grant: EmergencyAccess, reference: str) -> list[Entry]:
    """What the grantee did on that case from the grant until it expired."""
    c = AccessLogEntry.__table__.c
    rows = db.session.execute(
        entries().where(c.user_id == grant.user_id, c.case_ref == reference,
                        c.at >= grant.granted_at - timedelta(minutes=1), c.at <= grant.expires_at)
        .order_by(c.seq).limit(500)).all()
    return with_names(rows)


# Queues over the log ----------------------------------------------------------------------


def denied(before: int | None) -> Page:
    c = AccessLogEntry.__table__.c
    query = entries().where(c.outcome == audit.DENIED, c.at >= review_since())
    if before:
        query = query.where(c.seq < before)
    return page_of(query.order_by(c.seq.desc()))


def outsiders(before: int | None) -> Page:
    """Allowed access to case content by users whose agency is not involved in the case."""
    c = AccessLogEntry.__table__.c
    involved = select(CaseAgency.case_id).where(CaseAgency.case_id == Case.id,
                                                CaseAgency.agency_id == c.agency_id).exists()
    query = (entries().join(Case.__table__, Case.reference == c.case_ref)
             .where(c.outcome.in_((audit.ALLOWED, audit.FAILED)), c.agency_id.is_not(None), c.at >= review_since(),
                    reviewed_actions(), ~involved))
    if before:
        query = query.where(c.seq < before)
    return page_of(query.order_by(c.seq.desc()))


def working_time() -> tuple[time, time, set[int]]:
    """AUDIT_WORKING_HOURS ("07:00-19:00") and AUDIT_WORKING_DAYS ("Mon,...") as times and weekdays."""
    start_text, end_text = str(current_app.config["AUDIT_WORKING_HOURS"]).split("-")
    days = {d.strip()[:3].lower() for d in str(current_app.config["AUDIT_WORKING_DAYS"]).split(",")}
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip()), {
        names.index(d) for d in days if d in names}


def out_of_hours(before: int | None) -> Page:
    """Case access outside working hours (local time) or working days, newest first."""
    start, end, days = working_time()
    zone = timezone()

    def outside(row: Any) -> bool:
        local_time = as_utc(row.at).astimezone(zone)
        return local_time.weekday() not in days or not (start <= local_time.time() < end)

    return _scan(outside, before)


def _scan(keep: Any, before: int | None) -> Page:
    """A page of case-content entries the predicate keeps, reading at most SCAN_BUDGET entries."""
    c = AccessLogEntry.__table__.c
    size, read, last_seq = int(current_app.config["AUDIT_PAGE_SIZE"]), 0, before
    kept: list[Any] = []
    since = review_since()
    while len(kept) < size and read < SCAN_BUDGET:
        query = entries().where(c.case_ref.is_not(None), c.at >= since)
        if last_seq:
            query = query.where(c.seq < last_seq)
        rows = db.session.execute(query.order_by(c.seq.desc()).limit(2000)).all()
        if not rows:
            return Page(with_names(kept), None)
        for row in rows:
            read += 1
            last_seq = row.seq
            if keep(row):
                kept.append(row)
                if len(kept) == size:
                    break
    return Page(with_names(kept), cursor(last_seq) if last_seq else None, {"stopped_early": len(kept) < size})


@dataclass
class BulkAccess:
    """A user who opened more than AUDIT_BULK_CASES distinct cases within AUDIT_BULK_MINUTES."""

    user_id: uuid.UUID
    user_name: str
    agency_name: str
    cases: int
    window_start: datetime
    window_end: datetime


def bulk_access() -> list[BulkAccess]:
    """Slide a window over each user's case access in the review period; report each user's busiest."""
    limit = int(current_app.config["AUDIT_BULK_CASES"])
    window = timedelta(minutes=int(current_app.config["AUDIT_BULK_MINUTES"]))
    c = AccessLogEntry.__table__.c
    rows = db.session.execute(
        in_scope(select(c.user_id, c.agency_id, c.case_ref, c.at))
        .where(c.case_ref.is_not(None), c.user_id.is_not(None), c.outcome.in_((audit.ALLOWED, audit.FAILED)),
               c.at >= review_since(), reviewed_actions())
        .order_by(c.seq).execution_options(yield_per=5000))
    recent: dict[uuid.UUID, deque[tuple[datetime, str]]] = {}
    worst: dict[uuid.UUID, tuple[int, datetime, datetime, Any]] = {}
    for user_id, agency_id, case_ref, at in rows:
        at = as_utc(at)
        seen = recent.setdefault(user_id, deque())
        seen.append((at, case_ref))
        while seen and seen[0][0] < at - window:
            seen.popleft()
        distinct = len({ref for _, ref in seen})
        if distinct > limit and distinct > worst.get(user_id, (0,))[0]:
            worst[user_id] = (distinct, seen[0][0], at, agency_id)
    return _named_bulk(worst)


def _named_bulk(worst: dict[uuid.UUID, tuple[int, datetime, datetime, Any]]) -> list[BulkAccess]:
    names, agencies = user_names(worst), agency_names()
    found = [BulkAccess(uid, names.get(uid, ""), agencies.get(agency_id, ""), n, start, end)
             for uid, (n, start, end, agency_id) in worst.items()]
    return sorted(found, key=lambda b: -b.cases)


# Dashboard --------------------------------------------------------------------------------


@dataclass
class ChainStatus:
    entries: int
    last_checkpoint_seq: int | None
    last_checkpoint_at: datetime | None
    last_verified_at: datetime | None
    last_verified_result: str | None  # `audit_verify.summary`: "intact: ..." or "broken: ..."

    @property
    def last_verdict(self) -> str | None:
        """The last verification's verdict alone ("intact" or "broken"), without its figures."""
        return self.last_verified_result.partition(":")[0] if self.last_verified_result else None


def chain_status() -> ChainStatus:
    """Entries written, the newest signed checkpoint, and the last verification's verdict."""
    head = db.session.get(AuditChainHead, 1)
    checkpoint = db.session.execute(select(AuditCheckpoint.seq, AuditCheckpoint.created_at)
                                    .order_by(AuditCheckpoint.seq.desc()).limit(1)).first()
    c = AccessLogEntry.__table__.c
    verified = db.session.execute(select(c.at, c.purpose).where(c.action == "audit.verify")
                                  .order_by(c.seq.desc()).limit(1)).first()
    return ChainStatus(head.seq if head else 0, checkpoint[0] if checkpoint else None,
                       checkpoint[1] if checkpoint else None, verified[0] if verified else None,
                       verified[1] if verified else None)
