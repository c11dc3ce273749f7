"""Partner contact: the survivor service's offer of support to a man's (ex-)partner, and the
risk events it must pass on. Everything recorded here stays on the survivor side."""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, select

from riskhub import audit, policy
from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.base import as_utc, utcnow
from riskhub.models.cases import Case
from riskhub.models.events import EventKind, ProgrammeEvent
from riskhub.models.partnerships import (
    Category,
    ContactOutcome,
    FlowDirection,
    PartnerContactAttempt,
    PartnerContactTask,
    Partnership,
    RiskNotice,
)
from riskhub.operations import OperationError
from riskhub.operations.partnerships import allowing_protocol, due_for_review, partnerships_of

OFFER_MADE = frozenset({ContactOutcome.OFFERED, ContactOutcome.ACCEPTED, ContactOutcome.DECLINED})


def after_programme_event(event: ProgrammeEvent, case: Case, *, by: User) -> list[PartnerContactTask]:
    """Enrolment creates the partner-contact task; risk events notify the partner-contact worker."""
    from riskhub.operations.cases import involve_agency

    created = []
    if event.kind == EventKind.ENROLLED:
        for partnership in partnerships_of(by.agency_id):
            if partnership.programme_agency_id != by.agency_id:
                continue
            for service in partnership.services:
                if open_task(case.id, service.agency_id) is not None:
                    continue
                involve_agency(case, service.agency, by=by)
                task = PartnerContactTask(case_id=case.id, partnership_id=partnership.id, agency_id=service.agency_id,
                                          enrolled_on=event.occurred_on,
                                          due_on=event.occurred_on + timedelta(days=partnership.max_days_to_offer))
                db.session.add(task)
                created.append(task)
        db.session.flush()
        for task in created:
            audit.record("partner_contact.task", actor=audit.actor_for(by), object_type="partner_contact_task",
                         object_id=task.id, case_ref=case.reference)
    if event.kind.raises_risk or event.kind == EventKind.COMPLETED:
        for task in db.session.scalars(select(PartnerContactTask).where(PartnerContactTask.case_id == case.id)):
            db.session.add(RiskNotice(event_id=event.id, task_id=task.id))
        db.session.flush()
    return created


def open_task(case_id: uuid.UUID, agency_id: uuid.UUID) -> PartnerContactTask | None:
    return db.session.scalar(select(PartnerContactTask).where(PartnerContactTask.case_id == case_id,
                                                              PartnerContactTask.agency_id == agency_id))


def tasks_for_agency(agency_id: uuid.UUID) -> list[PartnerContactTask]:
    return list(db.session.scalars(select(PartnerContactTask).where(PartnerContactTask.agency_id == agency_id)
                                   .order_by(PartnerContactTask.due_on)))


def open_notices_for_agency(agency_id: uuid.UUID) -> list[RiskNotice]:
    return list(db.session.scalars(
        select(RiskNotice).join(PartnerContactTask, PartnerContactTask.id == RiskNotice.task_id)
        .where(PartnerContactTask.agency_id == agency_id, RiskNotice.resolved_at.is_(None))
        .order_by(RiskNotice.created_at)))


_SETTLES = (ContactOutcome.ACCEPTED, ContactOutcome.DECLINED, ContactOutcome.UNSAFE)


def record_attempt(task: PartnerContactTask, outcome: ContactOutcome, on: date, *, support: str,
                   safety_planning: str, by: User) -> PartnerContactAttempt:
    """Record an attempt to reach the partner and what was offered or planned."""
    if on > date.today():
        raise OperationError("The date of the attempt cannot be in the future", "on")
    if on < task.enrolled_on:
        raise OperationError("The attempt cannot be before the man's enrolment", "on")
    attempt = PartnerContactAttempt(task_id=task.id, outcome=outcome, on=on, by_user_id=by.id)
    attempt.support = support.strip()
    attempt.safety_planning = safety_planning.strip()
    task.attempts.append(attempt)
    if outcome in OFFER_MADE and (task.first_offer_on is None or on < task.first_offer_on):
        task.first_offer_on = on
    # Whether contact is in place follows the latest attempt that settled it, by the date it was
    # made: an earlier attempt recorded late (or from a page shown before) does not undo a later one.
    settling = [(a.on, as_utc(a.at) if a.at else utcnow(), a.outcome) for a in task.attempts if a.outcome in _SETTLES]
    if settling:
        task.in_place = max(settling)[2] == ContactOutcome.ACCEPTED
    db.session.flush()
    audit.record("partner_contact.attempt", actor=audit.actor_for(by), object_type="partner_contact_task",
                 object_id=task.id, case_ref=task.case.reference, sections=("partner_contact",),
                 purpose=outcome.value)
    return attempt


def resolve_notice(notice: RiskNotice, *, informed: bool, reason: str, by: User) -> None:
    """The partner-contact worker says the partner was told, or why not."""
    # Two workers at once: the second waits for the first, then is told it is done. The lock is taken
    # on this row alone (the notice's eager joins cannot share a FOR UPDATE on PostgreSQL).
    db.session.execute(select(RiskNotice.id).where(RiskNotice.id == notice.id).with_for_update())
    db.session.refresh(notice)
    if notice.resolved_at is not None:
        raise OperationError("This notice has already been dealt with")
    if not informed and not reason.strip():
        raise OperationError("Say why the partner was not informed", "reason")
    notice.resolved_at = utcnow()
    notice.partner_informed = informed
    notice.resolved_by_id = by.id
    if reason.strip():
        notice.reason = reason.strip()
    db.session.flush()
    audit.record("partner_contact.notice", actor=audit.actor_for(by), object_type="risk_notice",
                 object_id=notice.id, case_ref=notice.task.case.reference, purpose="informed" if informed else "not")


@cache
def _tasks_of_case() -> Select[PartnerContactTask]:
    return select(PartnerContactTask).where(PartnerContactTask.case_id == bindparam("case_id"))


def tasks_of_case(case_id: uuid.UUID) -> list[PartnerContactTask]:
    return list(db.session.scalars(_tasks_of_case(), {"case_id": case_id}))


NOT_STARTED, IN_PLACE, NOT_IN_PLACE, NOT_SHARED = "not started", "in place", "not in place", "not shared"


def contact_state(tasks: list[PartnerContactTask], viewer: policy.Viewer) -> str:
    """What the viewer may know of a case's partner contact: whether it is in place, NOT_STARTED
    (no task yet) or, for a perpetrator-facing viewer whose agency no service's protocol in force
    covers it with, NOT_SHARED (see `policy.partner_contact_status_needs_protocol`)."""
    if not tasks:
        return NOT_STARTED
    if policy.partner_contact_status_needs_protocol(viewer):
        tasks = [t for t in tasks if allowing_protocol(t.agency_id, [viewer.agency_id], Category.PARTNER_CONTACT_STATUS,
                                                       FlowDirection.TO_PROGRAMME) is not None]
        if not tasks:
            return NOT_SHARED
    return IN_PLACE if any(t.in_place for t in tasks) else NOT_IN_PLACE


@dataclass
class Health:
    tasks: int
    offered: int
    reached: int
    median_days_to_offer: float | None
    worst_days_to_offer: int | None
    overdue_without_offer: int
    events_shared: int
    events_acknowledged: int
    median_hours_to_acknowledge: float | None
    protocols_due: list

    @property
    def share_offered(self) -> float:
        return self.offered / self.tasks if self.tasks else 0.0

    @property
    def share_reached(self) -> float:
        return self.reached / self.tasks if self.tasks else 0.0


def health_of(partnership: Partnership, today: date | None = None) -> Health:
    """How the partnership is working: speed and reach of partner contact, events shared and acknowledged."""
    today = today or date.today()
    tasks = list(db.session.scalars(select(PartnerContactTask).where(
        PartnerContactTask.partnership_id == partnership.id)))
    days = [(t.first_offer_on - t.enrolled_on).days for t in tasks if t.first_offer_on]
    case_ids = {t.case_id for t in tasks}
    events = list(db.session.scalars(select(ProgrammeEvent).where(
        ProgrammeEvent.case_id.in_(case_ids), ProgrammeEvent.agency_id == partnership.programme_agency_id))) \
        if case_ids else []
    hours = []
    for event in events:
        acks = [a for a in event.acknowledgements if a.agency_id in partnership.service_agency_ids]
        if acks:
            first = min(as_utc(a.at) for a in acks)
            hours.append((first - as_utc(event.recorded_at)).total_seconds() / 3600)
    parties = {partnership.programme_agency_id, *partnership.service_agency_ids}
    return Health(
        tasks=len(tasks), offered=sum(1 for t in tasks if t.first_offer_on),
        reached=sum(1 for t in tasks if any(a.outcome == ContactOutcome.ACCEPTED for a in t.attempts)),
        median_days_to_offer=statistics.median(days) if days else None,
        worst_days_to_offer=max(days) if days else None,
        overdue_without_offer=sum(1 for t in tasks if t.first_offer_on is None and t.due_on < today),
        events_shared=len(events), events_acknowledged=len(hours),
        median_hours_to_acknowledge=round(statistics.median(hours), 1) if hours else None,
        protocols_due=[p for p in due_for_review(today) if p.party_agency_ids & parties],
    )

