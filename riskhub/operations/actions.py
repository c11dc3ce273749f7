"""Safety actions: agreed at meetings, owned by agencies, carried forward until done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, bindparam, case, func, select, true

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency, User
from riskhub.models.cases import Case
from riskhub.models.meetings import ActionStatus, AgendaItem, Meeting, MeetingInvite, NotDoneReason, SafetyAction
from riskhub.operations import OperationError, check_version
from riskhub.operations.meetings import check_within_reach, ensure_open
from riskhub.policy import SECTION_ACTIONS, SECTION_SURVIVOR_ACTIONS, is_perpetrator_facing

OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
# Open actions come a page at a time: a busy practitioner or agency can own hundreds.
ACTIONS_PER_PAGE = 25


@dataclass(frozen=True)
class ActionPlan:
    description: str
    owner_agency_id: uuid.UUID
    owner_user_id: uuid.UUID | None
    deadline: date
    survivor_only: bool = False


def agree_action(item: AgendaItem, plan: ActionPlan, *, by: User) -> SafetyAction:
    """Record an action agreed for the case under discussion."""
    meeting = item.meeting
    ensure_open(meeting)
    if item.case is None:
        raise OperationError("Actions belong to a case on the agenda")
    if not plan.description.strip():
        raise OperationError("Describe the action", "description")
    if plan.deadline < meeting.starts_at.date():
        raise OperationError("The deadline cannot be before the meeting", "deadline")
    check_within_reach(plan.deadline, "The deadline", "deadline")
    if plan.owner_agency_id not in item.case.agency_ids:
        raise OperationError("The owner must be an agency involved in the case", "owner_agency")
    owner_agency = db.session.get(Agency, plan.owner_agency_id)
    if plan.survivor_only and (owner_agency is None or is_perpetrator_facing(owner_agency.kind)):
        raise OperationError("A survivor-side only action must be owned by a survivor-side agency", "owner_agency")
    if plan.owner_user_id is not None:
        owner = db.session.get(User, plan.owner_user_id)
        if owner is None or owner.agency_id != plan.owner_agency_id:
            raise OperationError("The owner person must work for the owner agency", "owner_user")
    action = SafetyAction(case_id=item.case.id, meeting_id=meeting.id, owner_agency_id=plan.owner_agency_id,
                          owner_user_id=plan.owner_user_id, deadline=plan.deadline, status=ActionStatus.OPEN,
                          survivor_only=plan.survivor_only)
    action.description = plan.description.strip()
    db.session.add(action)
    db.session.flush()
    audit.record("action.create", actor=audit.actor_for(by), object_type="safety_action", object_id=action.id,
                 case_ref=item.case.reference, purpose="survivor-side only" if plan.survivor_only else None)
    return action


def shown(survivor_side: bool) -> ColumnElement[bool]:
    """The actions a list may hold: every one for the survivor side (`policy.may_see_survivor_actions`),
    none agreed as survivor-side only otherwise. Every list, count and copy of actions filters by it."""
    return true() if survivor_side else SafetyAction.survivor_only.is_(False)


def may_update(action: SafetyAction, user: User) -> bool:
    """The owner agency's staff, and the chair of the meeting that agreed it."""
    return user.agency_id == action.owner_agency_id or user.id == action.meeting.chair_id


def update_action(action: SafetyAction, *, status: ActionStatus, note: str, reason: NotDoneReason | None,
                  version: int | None, by: User, today: date | None = None) -> None:
    """Report progress; "not done" needs the reason, "done" a completion note."""
    check_version(action, version)
    if status == ActionStatus.NOT_DONE and reason is None:
        raise OperationError("Say why the action was not done", "reason")
    if status in (ActionStatus.DONE, ActionStatus.NOT_DONE) and not note.strip():
        raise OperationError("Add a note saying what happened", "note")
    action.status = status
    action.not_done_reason = reason if status == ActionStatus.NOT_DONE else None
    action.status_reported_on = today or date.today()
    if note.strip():
        action.completion_note = note.strip()
    db.session.flush()
    audit.record("action.update", actor=audit.actor_for(by), object_type="safety_action", object_id=action.id,
                 case_ref=action.case.reference, purpose=status.value)


@dataclass(frozen=True)
class OpenCounts:
    """How many open actions an owner has, and how many of them are past their deadline."""

    open: int
    overdue: int


def _owner(user: User | None, agency: Agency | None) -> tuple[bool, uuid.UUID]:
    """Whether the owner is a person (else an agency), and its id (the `owner` of `_open_of`)."""
    if user is not None:
        return True, user.id
    assert agency is not None, "an owner is needed"
    return False, agency.id


def _open_of(by_user: bool, survivor_side: bool) -> ColumnElement[bool]:
    owner = SafetyAction.owner_user_id if by_user else SafetyAction.owner_agency_id
    return (owner == bindparam("owner")) & SafetyAction.status.in_(OPEN_STATUSES) & shown(survivor_side)


@cache
def _open_counts_query(by_user: bool, survivor_side: bool) -> Select[int, int]:
    return (select(func.count(), func.count(case((SafetyAction.deadline < bindparam("today", type_=Date), 1))))
            .where(_open_of(by_user, survivor_side)))


def open_counts(*, today: date, survivor_side: bool, user: User | None = None,
                agency: Agency | None = None) -> OpenCounts:
    """Counted in SQL over the owner's open actions (the dashboard and each page's summary)."""
    by_user, owner = _owner(user, agency)
    total, overdue = db.session.execute(_open_counts_query(by_user, survivor_side),
                                        {"owner": owner, "today": today}).one()
    return OpenCounts(open=total, overdue=overdue)


@dataclass(frozen=True)
class ActionLine:
    """One row of an action list: what the list shows, read without loading the action, its
    case, agency and owner as objects (a page has 25 of them)."""

    id: uuid.UUID
    deadline: date
    status: ActionStatus
    not_done_reason: NotDoneReason | None
    description: str
    case_reference: str
    owner_agency_id: uuid.UUID
    owner_agency: str
    owner_person: str | None
    status_reported_on: date | None
    survivor_only: bool

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def overdue(self, today: date) -> bool:
        return self.is_open and self.deadline < today


def _lines(query: Select[Any], values: dict[str, Any]) -> list[ActionLine]:
    names: dict[uuid.UUID, str | None] = {}  # one owner's name decrypted once per list
    lines = []
    for row in db.session.execute(query, values):
        if row.owner_user_id is not None and row.owner_user_id not in names:
            names[row.owner_user_id] = User.name.read(row.name_enc, row.owner_user_id)
        lines.append(ActionLine(
            id=row.id, deadline=row.deadline, status=row.status, not_done_reason=row.not_done_reason,
            description=SafetyAction.description.read(row.description_enc, row.id) or "",
            case_reference=row.reference, owner_agency_id=row.owner_agency_id, owner_agency=row.name,
            owner_person=names.get(row.owner_user_id) if row.owner_user_id is not None else None,
            status_reported_on=row.status_reported_on, survivor_only=row.survivor_only,
        ))
    return lines


def record_cases_listed(lines: list[ActionLine], action: str, *, by: User, purpose: str | None = None) -> None:
    """One access-log entry for each case whose actions a list shows (its actions section, and
    its survivor-side actions section where one of them is shown)."""
    actor = audit.actor_for(by)
    survivor_side = {line.case_reference for line in lines if line.survivor_only}
    for reference in sorted({line.case_reference for line in lines}):
        sections = (SECTION_ACTIONS, SECTION_SURVIVOR_ACTIONS) if reference in survivor_side else (SECTION_ACTIONS,)
        audit.record(action, actor=actor, object_type="case", case_ref=reference, sections=sections,
                     purpose=purpose)


def _page(page: int) -> dict[str, int]:
    """The `limit` and `offset` of a `_paged` statement for a page number."""
    return {"limit": ACTIONS_PER_PAGE, "offset": (max(page, 1) - 1) * ACTIONS_PER_PAGE}


def _paged(where: ColumnElement[bool]) -> Select[Any]:
    """A page of the lines matching `where`, soonest deadline first (see `_page`)."""
    return (_line_query().where(where).order_by(SafetyAction.deadline, SafetyAction.id)
            .limit(bindparam("limit")).offset(bindparam("offset")))


def _line_query() -> Select[Any]:
    columns: list[Any] = [SafetyAction.id, SafetyAction.deadline, SafetyAction.status, SafetyAction.not_done_reason,
                          SafetyAction.description_enc, SafetyAction.owner_agency_id, SafetyAction.owner_user_id,
                          SafetyAction.status_reported_on, SafetyAction.survivor_only, Case.reference, Agency.name,
                          User.name_enc]
    return (select(*columns)
            .join(Case, Case.id == SafetyAction.case_id)
            .join(Agency, Agency.id == SafetyAction.owner_agency_id)
            .outerjoin(User, User.id == SafetyAction.owner_user_id))


def open_actions(*, page: int, survivor_side: bool, user: User | None = None,
                 agency: Agency | None = None) -> list[ActionLine]:
    """One page of the owner's open actions (a person's or an agency's), soonest deadline, so
    overdue, first."""
    by_user, owner = _owner(user, agency)
    return _lines(_open_page_query(by_user, survivor_side), {"owner": owner, **_page(page)})


@cache
def _open_page_query(by_user: bool, survivor_side: bool) -> Select[Any]:
    return _paged(_open_of(by_user, survivor_side))


@cache
def _case_lines_query(survivor_side: bool) -> Select[Any]:
    return (_line_query().where(SafetyAction.case_id == bindparam("case_id"), shown(survivor_side))
            .order_by(SafetyAction.deadline, SafetyAction.id))


def actions_of_case(case_id: uuid.UUID, *, survivor_side: bool) -> list[ActionLine]:
    return _lines(_case_lines_query(survivor_side), {"case_id": case_id})


def _carried(limited: bool, survivor_side: bool) -> ColumnElement[bool]:
    """Open actions agreed at meetings before `starts_at`: those the agency `invited` was invited
    to when `limited`, else all of them (`policy.meetings_limited_to_invitations_of` a chair)."""
    earlier = select(Meeting.id).where(Meeting.starts_at < bindparam("starts_at", type_=Meeting.starts_at.type))
    if limited:
        earlier = earlier.join(MeetingInvite, MeetingInvite.meeting_id == Meeting.id).where(
            MeetingInvite.agency_id == bindparam("invited"))
    return SafetyAction.status.in_(OPEN_STATUSES) & SafetyAction.meeting_id.in_(earlier) & shown(survivor_side)


@cache
def _carried_query(limited: bool, survivor_side: bool, count: bool) -> Select[Any]:
    where = _carried(limited, survivor_side)
    return select(func.count()).select_from(SafetyAction).where(where) if count else _paged(where)


def _carried_values(meeting: Meeting, invited: uuid.UUID | None) -> dict[str, Any]:
    return {"starts_at": meeting.starts_at, **({"invited": invited} if invited is not None else {})}


def carried_forward_count(meeting: Meeting, invited: uuid.UUID | None, *, survivor_side: bool) -> int:
    """How many open actions from earlier meetings this meeting reviews: those of meetings the
    agency `invited` was invited to, or all of them (None, for a chair: see `_carried`)."""
    return db.session.scalar(_carried_query(invited is not None, survivor_side, True),
                             _carried_values(meeting, invited)) or 0


def carried_forward(meeting: Meeting, invited: uuid.UUID | None, *, survivor_side: bool,
                    page: int = 1) -> list[ActionLine]:
    """One page of the open actions from earlier meetings (see `carried_forward_count`), reviewed
    first at this one: soonest deadline, so overdue, first (an area's meetings carry thousands)."""
    return _lines(_carried_query(invited is not None, survivor_side, False),
                  {**_carried_values(meeting, invited), **_page(page)})


@cache
def _not_done_query(survivor_side: bool, count: bool) -> Select[Any]:
    where = ((SafetyAction.status == ActionStatus.NOT_DONE)
             & (SafetyAction.not_done_reason == NotDoneReason.AGENCY_DID_NOT_ACT) & shown(survivor_side))
    return select(func.count()).select_from(SafetyAction).where(where) if count else _paged(where)


def not_done_by_agency_count(*, survivor_side: bool) -> int:
    """How many actions were not done because the agency did not act (the report's summary)."""
    return db.session.scalar(_not_done_query(survivor_side, True)) or 0


def not_done_by_agency(*, survivor_side: bool, page: int = 1) -> list[ActionLine]:
    """One page of the actions not done because the agency did not act, for escalation to the
    steering group: soonest deadline first."""
    return _lines(_not_done_query(survivor_side, False), _page(page))


def actions_of_meeting(meeting_id: uuid.UUID, *, survivor_side: bool) -> list[SafetyAction]:
    return list(db.session.scalars(select(SafetyAction).where(SafetyAction.meeting_id == meeting_id,
                                                             shown(survivor_side))
                                   .order_by(SafetyAction.deadline)))
