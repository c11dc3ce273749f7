"""Running a meeting: attendance and confidentiality, minutes as you go, hearing cases, closing."""

from __future__ import annotations

import uuid
from datetime import date
from functools import cache
from typing import cast

from flask import g
from sqlalchemy import Select, Table, bindparam, exists, select, update
from sqlalchemy.orm.attributes import set_committed_value

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency, User
from riskhub.models.base import utcnow
from riskhub.models.cases import CaseStatus
from riskhub.models.meetings import AgendaItem, Attendance, AttendanceKind, ItemKind, Meeting, MeetingStatus
from riskhub.models.referrals import Referral, ReferralStatus
from riskhub.operations import OperationError, changed_meanwhile, check_version
from riskhub.operations.cases import change_status
from riskhub.operations.meetings import ensure_open


def add_attendance(meeting: Meeting, kind: AttendanceKind, agency: Agency, *, name: str = "",
                   user: User | None = None, info_sent_on: date | None = None, by: User) -> Attendance:
    """Record an attendee, an apology (and whether information was sent) or an observer."""
    ensure_open(meeting)
    if user is None and not name.strip():
        raise OperationError("Enter the person's name", "name")
    if user is not None and any(a.user_id == user.id for a in meeting.attendance):
        raise OperationError("This person is already recorded for this meeting", "user")
    row = Attendance(meeting_id=meeting.id, kind=kind, agency_id=agency.id, user_id=user.id if user else None,
                     info_sent=info_sent_on is not None, info_sent_on=info_sent_on)
    row.name = user.name if user is not None else name.strip()
    meeting.attendance.append(row)
    db.session.flush()
    audit.record("meeting.attendance", actor=audit.actor_for(by), object_type="meeting", object_id=meeting.id,
                 purpose=kind.value)
    return row


def confirm_confidentiality(meeting: Meeting, row: Attendance, *, by: User) -> None:
    """An attendee has read and signed the confidentiality statement (once per meeting)."""
    ensure_open(meeting)
    if row.kind == AttendanceKind.APOLOGY:
        raise OperationError("Apologies do not sign the confidentiality statement")
    if row.confidentiality_confirmed_at is None:
        row.confidentiality_confirmed_at = utcnow()
        db.session.flush()
        if row.user_id is not None:  # asked again, of the database, which a rollback would undo
            _confirmed_this_request().pop((meeting.id, row.user_id), None)
        audit.record("meeting.confidentiality", actor=audit.actor_for(by), object_type="meeting",
                     object_id=meeting.id)


def _confirmed_this_request() -> dict[tuple[uuid.UUID, uuid.UUID], bool]:
    """What this request already learned from the database about who has confirmed (a request
    asks twice when the agenda view shows a case: the view, then the gate)."""
    if "confidentiality_confirmed" not in g:
        g.confidentiality_confirmed = {}
    known: dict[tuple[uuid.UUID, uuid.UUID], bool] = g.confidentiality_confirmed
    return known


def has_confirmed(meeting: Meeting, user: User) -> bool:
    """No case content is shown to an attendee before they confirm confidentiality.

    Asked of the database once per request (one lookup among the meeting's attendance rows, by
    its index on the meeting), not of the meeting's attendance list, which the agenda and the
    agenda view would otherwise load with every attendee's agency; a confirmation recorded in the
    request makes it ask again.
    """
    known = _confirmed_this_request()
    key = (meeting.id, user.id)
    if key not in known:
        known[key] = bool(db.session.scalar(_confirmation(), {"meeting_id": meeting.id, "user_id": user.id}))
    return known[key]


@cache
def _confirmation() -> Select[bool]:
    return select(exists().where(Attendance.meeting_id == bindparam("meeting_id"),
                                 Attendance.user_id == bindparam("user_id"),
                                 Attendance.confidentiality_confirmed_at.is_not(None)))


def start_meeting(meeting: Meeting, *, by: User) -> None:
    ensure_open(meeting)
    if meeting.status == MeetingStatus.SCHEDULED:
        meeting.status = MeetingStatus.IN_PROGRESS
        db.session.flush()
        audit.record("meeting.start", actor=audit.actor_for(by), object_type="meeting", object_id=meeting.id)


def save_minutes(item: AgendaItem, *, minutes: str, decisions: str, informs_survivor: str,
                 version: int | None, by: User, survivor_minutes: str | None = None,
                 survivor_version: int | None = None) -> None:
    """Save what was said about a case; an out-of-date copy is refused, never silently merged.

    `survivor_minutes` is None when the author may not write the survivor-only part; otherwise
    `survivor_version` is the survivor-side part's version the author's copy was made from.
    Only what changed is written. The survivor-side part is written past the entry's own version,
    which perpetrator-facing chairs see (their forms and the agenda's buttons carry it): it stays
    as it is when only that part changes, and that part is checked against a version of its own.
    """
    ensure_open(item.meeting)
    check_version(item, version)
    if survivor_minutes is not None:
        _save_survivor_minutes(item, survivor_minutes.strip(), survivor_version)
    for name, value in (("minutes", minutes), ("decisions", decisions), ("informs_survivor", informs_survivor)):
        if (getattr(item, name) or "") != value.strip():
            setattr(item, name, value.strip())
    db.session.flush()
    audit.record("meeting.minutes", actor=audit.actor_for(by), object_type="agenda_item", object_id=item.id,
                 case_ref=item.case.reference if item.case else None, sections=("minutes",))


def _save_survivor_minutes(item: AgendaItem, text: str, version: int | None) -> None:
    """Compare and set in one statement: a copy older than what is stored (another survivor-side
    save since `version` was shown) leaves nothing written and is refused. Unchanged, nothing is
    written and no version is needed."""
    if (item.survivor_minutes or "") == text:
        return
    if version is None or version != item.survivor_minutes_version:
        raise changed_meanwhile()
    blob = AgendaItem.survivor_minutes.seal(text, item.id)
    table = cast(Table, AgendaItem.__table__)  # the table itself: the ORM would move `version`
    written = db.session.execute(
        update(table).where(table.c.id == item.id, table.c.survivor_minutes_version == version)
        .values(survivor_minutes_enc=blob, survivor_minutes_version=version + 1))
    if written.rowcount != 1:  # type: ignore[attr-defined]
        raise changed_meanwhile()
    # What the session holds is what is stored now, without the entry counting as changed.
    set_committed_value(item, "survivor_minutes_enc", blob)
    set_committed_value(item, "survivor_minutes_version", version + 1)


def mark_heard(item: AgendaItem, *, by: User) -> None:
    """The case has been discussed: its referral is heard and the case status follows."""
    ensure_open(item.meeting)
    if item.kind != ItemKind.CASE:
        raise OperationError("Only cases are marked as heard")
    if item.heard_at is None:
        item.heard_at = utcnow()
        if item.referral is not None:
            item.referral.status = ReferralStatus.HEARD
        change_status(item.case, CaseStatus.HEARD, by=by)
        db.session.flush()
        audit.record("meeting.heard", actor=audit.actor_for(by), object_type="agenda_item", object_id=item.id,
                     case_ref=item.case.reference)


def close_meeting(meeting: Meeting, *, by: User) -> list[str]:
    """Close the meeting; cases not heard go back to the referral queue. Returns their references."""
    ensure_open(meeting)
    returned = []
    unheard = [i for i in meeting.items if i.kind == ItemKind.CASE and i.heard_at is None and i.referral_id]
    if unheard:  # their referrals in one statement: each item's `referral` is then found in the session
        db.session.scalars(select(Referral).where(Referral.id.in_([i.referral_id for i in unheard]))).all()
    for item in unheard:
        item.referral.status = ReferralStatus.WAITING
        returned.append(item.case.reference)
    meeting.status = MeetingStatus.CLOSED
    meeting.closed_at = utcnow()
    db.session.flush()
    audit.record("meeting.close", actor=audit.actor_for(by), object_type="meeting", object_id=meeting.id)
    return returned
