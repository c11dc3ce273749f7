"""Sending a meeting's agenda to the agencies invited: case references and risk levels only.

The mail carries what every invited agency may see before the meeting (the reference, the
planned time, the latest risk level from each side, whether the case is a repeat) and nothing
from the survivor's compartment, so one text suits perpetrator-facing agencies too. Each
recipient and each case sent is recorded in the access log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, bindparam, select

from riskhub import audit, policy
from riskhub.extensions import db
from riskhub.lifecycle import commit_recorded
from riskhub.mail import SEND_ERRORS, plain_message, smtp_session
from riskhub.models.accounts import Role, User, with_roles
from riskhub.models.audit import AccessLogEntry
from riskhub.models.meetings import ItemKind, Meeting
from riskhub.operations import OperationError
from riskhub.operations.meetings import agenda_risk_levels, invited_agencies, running_schedule

ACTION = "agenda.send"
UNDELIVERED = "agenda.undelivered"


def recipients(meeting: Meeting) -> list[User]:
    """Active practitioners and chairs, with an email address, of every agency invited."""
    agency_ids = [a.id for a in invited_agencies(meeting) if a.active]
    if not agency_ids:
        return []
    users = db.session.scalars(select(User).where(User.agency_id.in_(agency_ids), User.active.is_(True))
                               .options(with_roles()))
    chosen = [u for u in users if u.email and (Role.PRACTITIONER in u.roles or Role.CHAIR in u.roles)]
    return sorted(chosen, key=lambda u: u.email or "")  # emails are stored encrypted: sorted here


def agenda_text(meeting: Meeting, link: str) -> str:
    """The mail body: times, references and risk levels; never a name, address or narrative."""
    slots = running_schedule(meeting)
    levels = agenda_risk_levels(meeting)
    lines = [f"Agenda of joint risk meeting {meeting.reference}",
             f"{meeting.starts_at:%A %d %B %Y, %H:%M} UTC, {meeting.venue or 'online'}", "",
             "Time   Item"]
    for slot in slots:
        item = slot.item
        if item.kind is ItemKind.CASE and item.case is not None:
            level = levels[item.id]
            shown = " / ".join(f"{side}-side risk {level.get(side, 'not assessed')}"
                               for side in ("survivor", "perpetrator"))
            repeat = ", repeat referral" if item.repeat_referral else ""
            lines.append(f"{slot.starts_at:%H:%M}  Case {item.case.reference}: {shown}{repeat}")
        elif item.kind is ItemKind.ACTIONS_REVIEW:
            lines.append(f"{slot.starts_at:%H:%M}  Review of outstanding actions")
        else:
            lines.append(f"{slot.starts_at:%H:%M}  Any other business")
    lines += ["", "Please bring your agency's information on each case to the meeting.",
              f"The agenda and the case details are in riskhub: {link}",
              "RESTRICTED. This message holds no case details on purpose. Do not reply with any."]
    return "\n".join(lines)


@dataclass(frozen=True)
class Sent:
    recipients: int
    failed: str | None = None  # why sending stopped early, if it did


def send_agenda(meeting: Meeting, *, by: User, link: str) -> Sent:
    """Email the agenda to everyone in `recipients`; record each recipient and each case sent.

    Checks everything first (raising OperationError before anything is recorded), then commits
    each recipient's entry, and the cases' entries with the first, before that mail is sent: if
    the access log cannot be written, nothing leaves. A mail that then fails is recorded again
    as undelivered and sending stops.
    """
    if meeting.closed:
        raise OperationError("This meeting is closed: its agenda can no longer be sent")
    cases = [i.case for i in meeting.items if i.kind is ItemKind.CASE and i.case is not None]
    if not cases:
        raise OperationError("The agenda has no cases yet: add the referred cases first")
    people = recipients(meeting)
    if not people:
        raise OperationError("Nobody in the agencies invited has an email address to send the agenda to")
    body = agenda_text(meeting, link)
    subject = f"riskhub: agenda of meeting {meeting.reference}, {meeting.starts_at:%d %B %Y}"
    actor = audit.actor_for(by)
    purpose = f"meeting {meeting.reference}"
    sent = 0
    failed = None
    try:
        with smtp_session() as smtp:
            for user in people:
                try:
                    message = plain_message(user.email or "", subject, body)
                except ValueError:  # an address no mail can carry (a line break in it): that one is skipped
                    audit.record(UNDELIVERED, actor=actor, object_type="user", object_id=user.id,
                                 purpose=f"{purpose}; address not usable")
                    continue
                audit.record(ACTION, actor=actor, object_type="user", object_id=user.id, purpose=purpose)
                if sent == 0:
                    for case in cases:
                        audit.record(ACTION, actor=actor, object_type="meeting", object_id=meeting.id,
                                     case_ref=case.reference, sections=(policy.SECTION_ASSESSMENTS,), purpose=purpose)
                commit_recorded("agenda not sent")  # 503, and nothing sent, if the log cannot be written
                try:
                    smtp.send_message(message)
                except SEND_ERRORS:
                    audit.record(UNDELIVERED, actor=actor, object_type="user", object_id=user.id, purpose=purpose)
                    commit_recorded("agenda not sent")
                    raise
                sent += 1
    except SEND_ERRORS as error:
        failed = type(error).__name__
    return Sent(sent, failed)


def last_sent(meeting: Meeting) -> tuple[datetime, int] | None:
    """When the agenda was last sent and to how many people, from the access log."""
    purpose = f"meeting {meeting.reference}"
    latest = db.session.execute(_last_sending(), {"purpose": purpose}).first()
    if latest is None:
        return None
    counts: dict[str, int] = dict(db.session.execute(
        _sending_counts(), {"request_id": latest.request_id, "purpose": purpose}).all())
    return latest.at, counts.get(ACTION, 0) - counts.get(UNDELIVERED, 0)


# The agenda page asks on every view: built once (see riskhub.operations).
@cache
def _last_sending() -> Select[datetime, str | None]:
    return (select(AccessLogEntry.at, AccessLogEntry.request_id)
            .where(AccessLogEntry.action == ACTION, AccessLogEntry.object_type == "user",
                   AccessLogEntry.purpose == bindparam("purpose"))
            .order_by(AccessLogEntry.seq.desc()).limit(1))


@cache
def _sending_counts() -> Select[str, int]:
    return (select(AccessLogEntry.action, db.func.count())
            .where(AccessLogEntry.action.in_((ACTION, UNDELIVERED)), AccessLogEntry.object_type == "user",
                   AccessLogEntry.request_id == bindparam("request_id"), AccessLogEntry.purpose == bindparam("purpose"))
            .group_by(AccessLogEntry.action))
