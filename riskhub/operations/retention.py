"""Retention: find cases kept past their period, and irreversibly remove their personal content.

The case row, its reference, status history, scores and levels stay (they name nobody and
keep the figures and the access log meaningful); people, the contact compartment, and every
encrypted narrative go. The access log is never touched: its chain stays valid, and the
purge itself is appended to it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.assessments import Assessment
from riskhub.models.audit import CasePurge
from riskhub.models.base import as_utc, utcnow
from riskhub.models.cases import Case, CaseNote, CaseStatus, CaseStatusChange, EmergencyAccess, Person, SurvivorContact
from riskhub.models.events import ProgrammeEvent
from riskhub.models.meetings import AgendaItem, SafetyAction
from riskhub.models.partnerships import PartnerContactAttempt, PartnerContactTask, RiskNotice
from riskhub.models.referrals import Referral
from riskhub.models.sharing import SharingRecord

REMOVED = "Removed under the retention policy"


def retention_days() -> dict[str, int]:
    """RETENTION_DAYS: case status -> days (a JSON object when it comes from the environment)."""
    value: Any = current_app.config["RETENTION_DAYS"]
    if isinstance(value, str):
        value = json.loads(value)
    return {CaseStatus(status).value: int(days) for status, days in dict(value).items()}


@dataclass(frozen=True)
class DueForPurge:
    case_id: uuid.UUID
    reference: str
    status: str
    since: datetime
    days: int


def cases_past_retention(now: datetime | None = None) -> list[DueForPurge]:
    """Cases whose current status has a retention period they have outlived, not yet purged."""
    now = now or utcnow()
    due: list[DueForPurge] = []
    for status, days in retention_days().items():
        entered = (select(CaseStatusChange.case_id, func.max(CaseStatusChange.at).label("since"))
                   .where(CaseStatusChange.status == CaseStatus(status))
                   .group_by(CaseStatusChange.case_id).subquery())
        rows = db.session.execute(
            select(Case.id, Case.reference, entered.c.since)
            .join(entered, entered.c.case_id == Case.id)
            .where(Case.status == CaseStatus(status), entered.c.since < now - timedelta(days=days),
                   ~select(CasePurge.case_id).where(CasePurge.case_id == Case.id).exists())
            .order_by(entered.c.since))
        due.extend(DueForPurge(case_id, reference, status, as_utc(since), (now - as_utc(since)).days)
                   for case_id, reference, since in rows)
    return due


def purge_case(case_id: uuid.UUID, *, actor: audit.Actor) -> None:
    """Remove one case's personal content for good, mark it purged, and log the purge."""
    case = db.session.get(Case, case_id)
    if case is None or db.session.get(CasePurge, case_id) is not None:
        return
    since = max((as_utc(c.at) for c in case.status_history if c.status == case.status), default=utcnow())
    where = {"synchronize_session": False}
    db.session.execute(delete(Person).where(Person.case_id == case_id), execution_options=where)
    db.session.execute(delete(SurvivorContact).where(SurvivorContact.case_id == case_id), execution_options=where)
    db.session.execute(delete(CaseNote).where(CaseNote.case_id == case_id), execution_options=where)
    db.session.execute(update(Assessment).where(Assessment.case_id == case_id)
                       .values(content_enc=None, survivor_content_enc=None), execution_options=where)
    db.session.execute(update(ProgrammeEvent).where(ProgrammeEvent.case_id == case_id).values(note_enc=None),
                       execution_options=where)
    db.session.execute(update(Referral).where(Referral.case_id == case_id)
                       .values(consent_decided_by_enc=None, consent_reason_enc=None), execution_options=where)
    db.session.execute(update(SharingRecord).where(SharingRecord.case_id == case_id).values(
        information_enc=None, reason_enc=None, survivor_information_enc=None, survivor_reason_enc=None),
        execution_options=where)
    db.session.execute(update(AgendaItem).where(AgendaItem.case_id == case_id).values(
        minutes_enc=None, survivor_minutes_enc=None, decisions_enc=None, informs_survivor_enc=None,
        version=AgendaItem.version + 1), execution_options=where)
    tasks = select(PartnerContactTask.id).where(PartnerContactTask.case_id == case_id)
    db.session.execute(update(PartnerContactAttempt).where(PartnerContactAttempt.task_id.in_(tasks))
                       .values(support_enc=None, safety_planning_enc=None), execution_options=where)
    db.session.execute(update(RiskNotice).where(RiskNotice.task_id.in_(tasks)).values(reason_enc=None),
                       execution_options=where)
    # These columns may not be empty, so they hold a fixed notice instead of the text.
    for grant in db.session.scalars(select(EmergencyAccess).where(EmergencyAccess.case_id == case_id)):
        grant.reason = REMOVED
    for action in db.session.scalars(select(SafetyAction).where(SafetyAction.case_id == case_id)):
        action.description, action.completion_note = REMOVED, None
    db.session.add(CasePurge(case_id=case_id, status=case.status.value, status_since=since, purged_at=utcnow()))
    db.session.flush()
    db.session.expire_all()
    audit.record("retention.purge", actor=actor, object_type="case", object_id=case_id, case_ref=case.reference,
                 purpose=f"{case.status.value} since {since:%Y-%m-%d}")
