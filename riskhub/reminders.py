"""Reminder digests of safety actions, sent by email: references and deadlines only."""

from __future__ import annotations

import smtplib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from riskhub import audit
from riskhub.extensions import db
from riskhub.mail import SEND_ERRORS, plain_message, smtp_session
from riskhub.models.accounts import Role, User, with_roles
from riskhub.models.meetings import SafetyAction
from riskhub.operations.actions import OPEN_STATUSES


def digests(days: int, today: date | None = None) -> dict[str, list[SafetyAction]]:
    """Open actions due within `days` (or overdue), by recipient email.

    An action with a named owner goes to that person; otherwise to every active practitioner
    of the owner agency.
    """
    today = today or date.today()
    due = db.session.scalars(select(SafetyAction).where(SafetyAction.status.in_(OPEN_STATUSES),
                                                        SafetyAction.deadline <= today + timedelta(days=days))
                             .order_by(SafetyAction.deadline))
    by_agency: dict[object, list[User]] = {}
    result: dict[str, list[SafetyAction]] = defaultdict(list)
    for action in due:
        if action.owner_user is not None and action.owner_user.is_active:
            recipients = [action.owner_user]
        else:
            if action.owner_agency_id not in by_agency:
                by_agency[action.owner_agency_id] = [
                    u for u in db.session.scalars(select(User).where(User.agency_id == action.owner_agency_id)
                                                  .options(with_roles()))
                    if u.is_active and Role.PRACTITIONER in u.roles]
            recipients = by_agency[action.owner_agency_id]
        for user in recipients:
            result[user.email or ""].append(action)
    result.pop("", None)
    return dict(result)


def digest_text(actions: list[SafetyAction], today: date, link: str) -> str:
    """The mail body: case references and deadlines, never what the action is about."""
    lines = ["Safety actions you own that are due soon or overdue:", ""]
    for action in actions:
        state = "OVERDUE" if action.deadline < today else "due"
        lines.append(f"- {action.case.reference}: {state} {action.deadline:%d %B %Y}")
    lines += ["", f"Sign in to riskhub to see and update them: {link}",
              "This message holds no case details on purpose. Do not reply with any."]
    return "\n".join(lines)


@dataclass
class ReminderRun:
    """What a run of `send_reminders` did."""

    sent: int = 0
    undelivered: list[str] = field(default_factory=list)  # recipients the server refused, or not reached
    stopped: str | None = None  # why the run stopped early, if it did


def send_reminders(days: int, link: str, progress: Callable[[int], None] | None = None,
                   today: date | None = None) -> ReminderRun:
    """Send one digest per recipient through the configured SMTP server.

    Each digest's entries are committed to the access log before it is sent, so no mail leaves
    unrecorded; one that then fails is recorded again as undelivered. A refused recipient is
    skipped; a server that stops answering ends the run.
    """
    today = today or date.today()
    batches = digests(days, today)
    run = ReminderRun()
    with smtp_session() as smtp:
        for email, actions in sorted(batches.items()):
            subject = f"riskhub: {len(actions)} safety action{'s' if len(actions) != 1 else ''} due"
            try:
                message = plain_message(email, subject, digest_text(actions, today, link))
            except ValueError:  # an address no mail can carry (a line break in it): skipped, on record
                _record(actions, "action.remind.undelivered")
                db.session.commit()
                run.undelivered.append(email)
                if progress:
                    progress(1)
                continue
            _record(actions, "action.remind")
            db.session.commit()
            try:
                smtp.send_message(message)
            except SEND_ERRORS as error:
                _record(actions, "action.remind.undelivered")
                db.session.commit()
                run.undelivered.append(email)
                if not isinstance(error, smtplib.SMTPRecipientsRefused):
                    run.stopped = f"the mail server stopped answering ({error.__class__.__name__})"
                    break
            else:
                run.sent += 1
            if progress:
                progress(1)
    return run


def _record(actions: list[SafetyAction], action: str) -> None:
    for safety_action in actions:
        audit.record(action, actor=audit.SYSTEM, object_type="safety_action", object_id=safety_action.id,
                     case_ref=safety_action.case.reference)
