"""Programme events: recorded by programme staff, shown to the survivor side as alerts."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from sqlalchemy import Select, Uuid, bindparam, delete, insert, literal, select

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency, User
from riskhub.models.cases import Case, CaseAgency
from riskhub.models.events import EventAcknowledgement, EventAlert, EventKind, ProgrammeEvent
from riskhub.models.partnerships import FlowDirection
from riskhub.operations import OperationError, load_collection_of_each, per_transaction
from riskhub.operations.partner_contact import after_programme_event
from riskhub.operations.partnerships import EVENT_CATEGORY, partnerships_of, require_flow
from riskhub.policy import is_perpetrator_facing

# Cases opened in the current transaction that no event has been recorded on yet: an agency
# joining one has no alerts to catch up on, so the statement that finds them is skipped (bulk
# loads involve agencies in thousands of new cases).
_OPENED_WITHOUT_EVENTS = "riskhub.cases_opened_without_events"


def _opened_without_events() -> set[object]:
    return per_transaction(_OPENED_WITHOUT_EVENTS, set)


def opened_without_events(case_id: object) -> None:
    _opened_without_events().add(case_id)


def record_event(case: Case, kind: EventKind, occurred_on: date, note: str, *, by: User) -> ProgrammeEvent:
    """Record attendance, exclusion, a disclosure or the like on a case."""
    if occurred_on > date.today():
        raise OperationError("The date of the event cannot be in the future", "occurred_on")
    if occurred_on < case.created_at.date() - timedelta(days=5 * 365):
        raise OperationError("The date of the event is too long before the case was opened", "occurred_on")
    kind = EventKind(kind)
    require_flow(sender=by, receivers=survivor_side_receivers(case, by), category=EVENT_CATEGORY[kind],
                 direction=FlowDirection.TO_SURVIVOR_SIDE, case_ref=case.reference)
    event = ProgrammeEvent(case_id=case.id, kind=kind, occurred_on=occurred_on,
                           agency_id=by.agency_id, recorded_by_id=by.id)
    event.note = note.strip()
    db.session.add(event)
    db.session.flush()
    _opened_without_events().discard(case.id)
    # Alerts flow to the survivor side only: perpetrator-facing agencies are never shown them.
    alerts = [{"agency_id": i.agency_id, "event_id": event.id, "recorded_at": event.recorded_at}
              for i in case.involvements if not is_perpetrator_facing(i.agency.kind)]
    if alerts:  # one statement and no ORM objects: bulk loads record thousands of events
        db.session.execute(insert(EventAlert), alerts)
    audit.record("event.create", actor=audit.actor_for(by), object_type="programme_event",
                 object_id=event.id, case_ref=case.reference, purpose=event.kind.value)
    after_programme_event(event, case, by=by)
    return event


def survivor_side_receivers(case: Case, sender: User) -> set:
    """Who a programme event reaches: survivor-side agencies on the case and the programme's partner services."""
    receivers = {i.agency_id for i in case.involvements
                 if not is_perpetrator_facing(i.agency.kind) and i.agency_id != sender.agency_id}
    for partnership in partnerships_of(sender.agency_id):
        if partnership.programme_agency_id == sender.agency_id:
            receivers |= partnership.service_agency_ids
    return receivers


@cache
def _events_of_case() -> Select[ProgrammeEvent]:
    return (select(ProgrammeEvent).where(ProgrammeEvent.case_id == bindparam("case_id"))
            .order_by(ProgrammeEvent.occurred_on.desc(), ProgrammeEvent.recorded_at.desc()))


def events_of(case: Case) -> list[ProgrammeEvent]:
    """A case's events, newest first, with their acknowledgements (one statement for all)."""
    events = list(db.session.scalars(_events_of_case(), {"case_id": case.id}))
    load_collection_of_each(events, "acknowledgements")
    return events


def acknowledged_by(event: ProgrammeEvent, agency_id: object) -> bool:
    return any(a.agency_id == agency_id for a in event.acknowledgements)


def acknowledge(event: ProgrammeEvent, *, by: User, case: Case) -> None:
    """A survivor-side agency has seen the alert (once per agency)."""
    if acknowledged_by(event, by.agency_id):
        return
    event.acknowledgements.append(EventAcknowledgement(agency_id=by.agency_id, user_id=by.id))
    db.session.execute(delete(EventAlert).where(EventAlert.agency_id == by.agency_id,
                                                EventAlert.event_id == event.id))
    db.session.flush()
    audit.record("event.acknowledge", actor=audit.actor_for(by), object_type="programme_event",
                 object_id=event.id, case_ref=case.reference)


def open_alerts_for(agency_id: object) -> list[tuple[str, ProgrammeEvent]]:
    """(case reference, event) for events on the agency's cases that it has not acknowledged.

    Read newest first from the agency's open alerts, so the cost follows the 50 shown, not the
    number of events on its cases; the involvement is checked again for each one.
    """
    agency = db.session.get(Agency, agency_id)
    if agency is None or is_perpetrator_facing(agency.kind):
        return []
    rows = db.session.execute(_open_alerts(), {"agency_id": agency_id})
    return [(reference, event) for reference, event in rows]


@cache
def _open_alerts() -> Select[str, ProgrammeEvent]:
    return (select(Case.reference, ProgrammeEvent)
            .select_from(EventAlert)
            .join(ProgrammeEvent, ProgrammeEvent.id == EventAlert.event_id)
            .join(Case, Case.id == ProgrammeEvent.case_id)
            .join(CaseAgency, (CaseAgency.case_id == Case.id) & (CaseAgency.agency_id == EventAlert.agency_id))
            .where(EventAlert.agency_id == bindparam("agency_id"))
            .order_by(EventAlert.recorded_at.desc())
            .limit(50))


def open_alerts_for_joining_agency(case: Case, agency: Agency) -> None:
    """A survivor-side agency newly involved in a case is alerted to the events on it it has not
    acknowledged."""
    if case.id in _opened_without_events() or is_perpetrator_facing(agency.kind):
        return
    agency_id = agency.id
    acknowledged = (select(EventAcknowledgement.event_id)
                    .where(EventAcknowledgement.event_id == ProgrammeEvent.id,
                           EventAcknowledgement.agency_id == agency_id).exists())
    db.session.execute(insert(EventAlert).from_select(
        ["agency_id", "event_id", "recorded_at"],
        select(literal(agency_id, Uuid), ProgrammeEvent.id, ProgrammeEvent.recorded_at)
        .where(ProgrammeEvent.case_id == case.id, ~acknowledged),
    ))
