"""Scheduling meetings and building their agendas from the referral queue."""

from __future__ import annotations

import calendar
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table, bindparam, inspect, select, update
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from riskhub import audit, policy
from riskhub.extensions import db
from riskhub.models.accounts import Agency, User
from riskhub.models.base import as_utc, utcnow
from riskhub.models.cases import Case, PersonRole
from riskhub.models.meetings import (
    AgendaGroup,
    AgendaItem,
    ItemKind,
    Meeting,
    MeetingInvite,
    MeetingStatus,
    SafetyAction,
)
from riskhub.models.referrals import Referral, ReferralStatus
from riskhub.operations import OperationError

Query = TypeVar("Query", bound=Select[Any])

REPEATS = {"none": 0, "weekly": 7, "fortnightly": 14, "monthly": -1}
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _reference() -> str:
    while True:
        candidate = "MTG-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
        if db.session.scalar(select(Meeting.id).where(Meeting.reference == candidate)) is None:
            return candidate


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


YEARS_AHEAD = 5  # nothing is planned further ahead than this: meetings, series, action deadlines
MAX_OCCURRENCES = 26


def furthest_ahead(today: date | None = None) -> date:
    """The last day a meeting or a deadline may be set for (YEARS_AHEAD years from today)."""
    today = today or date.today()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def check_within_reach(day: date, what: str, field: str) -> None:
    """Refuse a date too far ahead to be meant (a mistyped year, say), before any arithmetic on it."""
    if day > furthest_ahead():
        raise OperationError(f"{what} cannot be more than {YEARS_AHEAD} years ahead: check the year", field)


def occurrence_times(first: datetime, repeat: str, count: int) -> list[datetime]:
    """Start times of a series: weekly, fortnightly or monthly (same day of the month)."""
    step = REPEATS[repeat]
    if step == 0:
        return [first]
    if step < 0:
        return [_add_months(first, n) for n in range(count)]
    return [first + timedelta(days=step * n) for n in range(count)]


@dataclass(frozen=True)
class MeetingPlan:
    starts_at: datetime
    duration_minutes: int
    venue: str
    online_link: str
    agency_ids: frozenset[uuid.UUID]
    repeat: str = "none"
    occurrences: int = 1
    slot_minutes: int = 12


def schedule_meetings(plan: MeetingPlan, *, chair: User) -> list[Meeting]:
    """Create a meeting, or each occurrence of a repeating series as its own meeting."""
    if as_utc(plan.starts_at) <= utcnow():
        raise OperationError("The meeting must start in the future", "starts_at")
    check_within_reach(plan.starts_at.date(), "The meeting", "starts_at")
    if not plan.venue.strip() and not plan.online_link.strip():
        raise OperationError("Enter a venue or an online link", "venue")
    if not plan.agency_ids:
        raise OperationError("Invite at least one agency", "agencies")
    count = 1 if plan.repeat == "none" else plan.occurrences
    if not 1 <= count <= MAX_OCCURRENCES:
        raise OperationError(f"A series has 1 to {MAX_OCCURRENCES} meetings", "occurrences")
    times = occurrence_times(plan.starts_at, plan.repeat, count)  # first within reach: no overflow
    if times[-1].date() > furthest_ahead():
        raise OperationError(f"The last meeting of this series would be more than {YEARS_AHEAD} years ahead: "
                             "choose fewer meetings or an earlier date", "occurrences")
    series = uuid.uuid4() if count > 1 else None
    meetings = []
    for starts_at in times:
        meeting = Meeting(
            reference=_reference(), series_id=series, starts_at=starts_at, duration_minutes=plan.duration_minutes,
            venue=plan.venue.strip(), online_link=plan.online_link.strip(), chair_id=chair.id,
            status=MeetingStatus.SCHEDULED, slot_minutes=plan.slot_minutes,
        )
        meeting.invites = [MeetingInvite(agency_id=a) for a in sorted(plan.agency_ids)]
        meeting.items = [
            AgendaItem(kind=ItemKind.ACTIONS_REVIEW, agenda_group=AgendaGroup.ACTIONS_REVIEW, position=0),
            AgendaItem(kind=ItemKind.OTHER_BUSINESS, agenda_group=AgendaGroup.OTHER_BUSINESS, position=1),
        ]
        db.session.add(meeting)
        meetings.append(meeting)
    db.session.flush()
    for meeting in meetings:
        audit.record("meeting.schedule", actor=audit.actor_for(chair), object_type="meeting", object_id=meeting.id)
    return meetings


def ensure_open(meeting: Meeting) -> None:
    """Closed meetings are a record: nothing on them changes."""
    if meeting.closed:
        raise OperationError("This meeting is closed and can no longer be changed")


def agenda_group_for(case: Case, meeting: Meeting) -> AgendaGroup:
    """Cases with children first (so children's agencies may leave), then adults, then lapsed."""
    if any(p.role == PersonRole.CHILD for p in case.people):
        return AgendaGroup.CHILDREN
    heard_before = db.session.scalar(
        select(AgendaItem.heard_at).where(AgendaItem.case_id == case.id, AgendaItem.heard_at.is_not(None))
        .order_by(AgendaItem.heard_at.desc()).limit(1)
    )
    if heard_before is not None and as_utc(meeting.starts_at) - as_utc(heard_before) > timedelta(days=365):
        return AgendaGroup.LAPSED
    return AgendaGroup.ADULTS


def _renumber(meeting: Meeting, moved: tuple[AgendaItem, ...] = ()) -> None:
    """Number the entries in order. A new entry and those a chair `moved` change as records do
    (their version moves, so Move and Remove buttons shown before refuse); the others only shift
    place, written past their version, so minutes being typed on them during the meeting are not
    refused as out of date. The agenda's lock (`_lock_agenda`) keeps two changes from shifting
    the same entries at once."""
    table = cast(Table, AgendaItem.__table__)  # the table itself: the ORM would move `version`
    ordered = sorted(meeting.items, key=lambda i: (i.agenda_group, i.position))
    shifts: dict[int, list[AgendaItem]] = {}  # by how far they shift: one statement each
    for number, item in enumerate(ordered):
        if item.position == number:
            continue
        if item in moved or not inspect(item).persistent:
            item.position = number
        else:
            shifts.setdefault(number - item.position, []).append(item)
    for by, shifted in shifts.items():
        db.session.execute(update(table).where(table.c.id.in_([i.id for i in shifted]))
                           .values(position=table.c.position + by))
        for item in shifted:
            set_committed_value(item, "position", item.position + by)
    meeting.items.sort(key=lambda i: i.position)


def _afresh(query: Query) -> Query:
    """The query's row read again, over this request's copy of it. Only its own columns: the case
    it points to stays as this request has it (read again through a join, the case would drop
    the people and agencies already loaded, to be read once more)."""
    return query.options(lazyload("*")).execution_options(populate_existing=True)


def _lock_agenda(meeting: Meeting) -> None:
    """Changes to one agenda's entries wait for each other (two chairs adding different cases at
    once): the meeting's row is locked, then it and its entries are read afresh, so the order is
    worked out from what the other change committed, not from this request's older copy."""
    db.session.refresh(meeting, ["status", "version"], with_for_update=True)
    items = db.session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
                               .order_by(AgendaItem.position).execution_options(populate_existing=True)).all()
    set_committed_value(meeting, "items", list(items))
    ensure_open(meeting)  # as it is now, not as this request first read it


def _open_agenda_of(case_id: uuid.UUID) -> uuid.UUID | None:
    """The meeting whose open agenda has the case waiting to be heard, if any."""
    return db.session.scalar(
        select(AgendaItem.meeting_id).join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(AgendaItem.case_id == case_id, Meeting.status != MeetingStatus.CLOSED,
               AgendaItem.heard_at.is_(None)).limit(1)
    )


def add_case(meeting: Meeting, referral: Referral, *, by: User) -> AgendaItem:
    """Put a referred case on the agenda, in its default group, at the end of that group."""
    _lock_agenda(meeting)
    # Two chairs adding the same referral at once (to one agenda or two): the second waits here
    # for the first to commit, then sees the case on its agenda and is refused.
    db.session.scalar(_afresh(select(Referral).where(Referral.id == referral.id).with_for_update(of=Referral)))
    on_agenda = _open_agenda_of(referral.case_id)
    if on_agenda == meeting.id or any(i.case_id == referral.case_id for i in meeting.items):
        raise OperationError(f"{referral.case.reference} is already on this agenda", "referral")
    if on_agenda is not None:
        raise OperationError(f"{referral.case.reference} is already on another meeting's agenda", "referral")
    group = agenda_group_for(referral.case, meeting)
    item = AgendaItem(kind=ItemKind.CASE, agenda_group=group, position=len(meeting.items) + 1000,
                      case_id=referral.case_id, referral_id=referral.id, case=referral.case, referral=referral)
    meeting.items.append(item)
    referral.status = ReferralStatus.SCHEDULED
    _renumber(meeting)
    db.session.flush()
    audit.record("agenda.add", actor=audit.actor_for(by), object_type="meeting", object_id=meeting.id,
                 case_ref=referral.case.reference)
    return item


def propose_agenda(meeting: Meeting, *, by: User) -> list[AgendaItem]:
    """Add every waiting referral that is on no other agenda, oldest first (one put on an agenda
    by another chair meanwhile is passed over: `add_case` refuses it before writing anything)."""
    ensure_open(meeting)
    waiting = db.session.scalars(
        select(Referral).where(Referral.status == ReferralStatus.WAITING).order_by(Referral.referred_at)
    ).all()
    added = []
    for referral in waiting:
        try:
            added.append(add_case(meeting, referral, by=by))
        except OperationError:
            continue
    return added


NO_LONGER_ON_AGENDA = "This case is no longer on the agenda: it has already been taken off."
NOT_FOR_PROGRAMME_CHAIRS = ("Cases are taken off an agenda by a chair from an agency that is not a perpetrator "
                            "programme: ask one of them to do it")


def _ensure_as_shown(item: AgendaItem, shown: int | None) -> None:
    """The agenda's Move and Remove buttons carry the entry's version as shown: if another chair
    moved it, or minutes were saved on it, since then (or while this request waited for the
    agenda), nothing is done and the chair is told. The review and other business are refused by
    the operations themselves. A button that carried no version counts as changed."""
    if item.case is not None and item.version != shown:
        raise OperationError(f"The agenda entry for {item.case.reference} changed since your page was shown (it was "
                             "moved, or minutes were saved on it): nothing has been done. Check the agenda below, "
                             "then try again.")


def remove_item(meeting: Meeting, item: AgendaItem, *, by: User, shown: int | None) -> None:
    """Take a case off the agenda; its referral goes back to the queue."""
    ensure_open(meeting)
    if not policy.may_take_cases_off_agenda(policy.viewer_of(by)):
        raise OperationError(NOT_FOR_PROGRAMME_CHAIRS)
    if item.kind != ItemKind.CASE:
        raise OperationError("The actions review and other business stay on every agenda")
    # Two chairs pressing Remove at once: the second waits here for the first to commit, then
    # finds the entry gone instead of acting on its copy. The entry's own row is locked too, so
    # minutes being saved on it (which do not wait for the agenda) are read, not missed.
    _lock_agenda(meeting)
    if db.session.scalar(_afresh(select(AgendaItem).where(AgendaItem.id == item.id)
                                 .with_for_update(of=AgendaItem))) is None:
        raise OperationError(NO_LONGER_ON_AGENDA)
    _ensure_as_shown(item, shown)
    if item.heard_at is not None:
        raise OperationError("A case already heard stays on the record")
    recorded = any(v is not None for v in (item.minutes_enc, item.survivor_minutes_enc, item.decisions_enc,
                                           item.informs_survivor_enc))
    if recorded or db.session.scalar(select(SafetyAction.id).where(
            SafetyAction.meeting_id == meeting.id, SafetyAction.case_id == item.case_id).limit(1)):
        raise OperationError(f"Minutes or actions have been recorded for {item.case.reference} at this meeting, "
                             "so it stays on the agenda")
    if item.referral is not None:
        item.referral.status = ReferralStatus.WAITING
    reference = item.case.reference
    meeting.items.remove(item)
    _renumber(meeting)
    db.session.flush()
    audit.record("agenda.remove", actor=audit.actor_for(by), object_type="meeting", object_id=meeting.id,
                 case_ref=reference)


def move_item(meeting: Meeting, item: AgendaItem, offset: int, *, by: User, shown: int | None,
              passing: uuid.UUID | None) -> None:
    """Move a case up or down among the cases; the review and other business stay at the ends.
    `passing` is the case it would pass as the chair's page showed it (None at either end): a
    case added, taken off or moved beside it since then means nothing is done."""
    _lock_agenda(meeting)
    cases = [i for i in meeting.items if i.kind == ItemKind.CASE]
    if item not in cases:
        raise OperationError("Only cases can be moved")
    _ensure_as_shown(item, shown)
    index = cases.index(item)
    target = min(max(index + offset, 0), len(cases) - 1)
    other = cases[target] if target != index else None
    if (other.id if other else None) != passing:
        raise OperationError(f"The agenda changed beside {item.case.reference} since your page was shown (a case was "
                             "added, taken off or moved): nothing has been done. Check the agenda below, then try "
                             "again.")
    if other is None:
        return
    item.agenda_group, other.agenda_group = other.agenda_group, item.agenda_group
    item.position, other.position = other.position, item.position
    _renumber(meeting, moved=(item, other))
    db.session.flush()


@dataclass(frozen=True)
class Slot:
    item: AgendaItem
    starts_at: datetime
    ends_at: datetime


def running_schedule(meeting: Meeting, review_minutes: int = 10, other_minutes: int = 5) -> list[Slot]:
    """Planned start and end of every agenda item, in order."""
    clock = as_utc(meeting.starts_at)
    slots = []
    for item in meeting.items:
        length = {ItemKind.CASE: meeting.slot_minutes, ItemKind.ACTIONS_REVIEW: review_minutes}.get(
            item.kind, other_minutes)
        slots.append(Slot(item, clock, clock + timedelta(minutes=length)))
        clock += timedelta(minutes=length)
    return slots


def overrun_minutes(meeting: Meeting, slots: Iterable[Slot]) -> int:
    """How far the agenda runs past the planned end (0 when it fits)."""
    planned_end = as_utc(meeting.starts_at) + timedelta(minutes=meeting.duration_minutes)
    last = max((s.ends_at for s in slots), default=planned_end)
    return max(0, int((last - planned_end).total_seconds() // 60))


def upcoming_meetings(agency_id: uuid.UUID | None = None, *, include_closed: bool = False) -> list[Meeting]:
    """Meetings, soonest first; for an agency, only those it is invited to."""
    query = select(Meeting).order_by(Meeting.starts_at)
    if not include_closed:
        query = query.where(Meeting.status != MeetingStatus.CLOSED)
    if agency_id is not None:
        query = query.join(MeetingInvite, MeetingInvite.meeting_id == Meeting.id).where(
            MeetingInvite.agency_id == agency_id)
    return list(db.session.scalars(query))


def agenda_risk_levels(meeting: Meeting) -> dict[uuid.UUID, dict[str, str]]:
    """The latest risk level from each side for every case on the agenda, by agenda item id,
    read in one query (what the agenda page and the agenda mail show)."""
    from riskhub.operations.assessments import latest_levels_of_cases

    items = [i for i in meeting.items if i.case_id is not None]
    levels = latest_levels_of_cases([i.case_id for i in items])
    return {i.id: levels[i.case_id] for i in items}


@cache
def _agencies_by_id() -> Select[Agency]:
    return select(Agency).where(Agency.id.in_(bindparam("ids", expanding=True)))


def invited_agencies(meeting: Meeting) -> list[Agency]:
    """The agencies invited, by name, in one statement."""
    agencies = db.session.scalars(_agencies_by_id(), {"ids": list(meeting.invited_agency_ids)})
    return sorted(agencies, key=lambda a: a.name)
