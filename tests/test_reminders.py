"""`riskhub remind` against a real SMTP server started by the test."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry


@pytest.fixture
def app_config(smtp_port: int) -> dict[str, Any]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_port, "SMTP_FROM": "riskhub@test.example"}


def agree(app: Any, people: dict[str, Any], make: Any, description: str, deadline: date, owner_user: Any) -> str:
    """An action agreed at a (past-dated) meeting, through the operations layer."""
    from riskhub.models.accounts import User
    from riskhub.models.meetings import AgendaItem, ItemKind, Meeting
    from riskhub.operations import actions

    reference = make.case(people["idva"], involve=(people["police_agency"],))
    with app.app_context():
        from riskhub.models.cases import Case

        case = db.session.scalar(select(Case).where(Case.reference == reference))
        chair = db.session.get(User, people["chair"])
        starts = datetime.combine(deadline - timedelta(days=30), time(9, 0), tzinfo=UTC)
        meeting = Meeting(reference=f"MTG-{reference[-4:]}X", starts_at=starts,
                          duration_minutes=60, venue="Room 1", online_link="", chair_id=chair.id)
        item = AgendaItem(kind=ItemKind.CASE, agenda_group=2, position=0, case_id=case.id)
        meeting.items.append(item)
        db.session.add(meeting)
        db.session.flush()
        actions.agree_action(item, actions.ActionPlan(description, people["police_agency"], owner_user, deadline),
                             by=chair)
        db.session.commit()
    return reference


def test_remind_sends_references_and_deadlines_only(app, runner, people, make, inbox):
    today = date.today()
    overdue = agree(app, people, make, "SECRET-PLAN-ALPHA", today - timedelta(days=2), people["police"])
    soon = agree(app, people, make, "SECRET-PLAN-BETA", today + timedelta(days=3), None)
    later = agree(app, people, make, "SECRET-PLAN-GAMMA", today + timedelta(days=40), people["police"])
    result = runner.invoke(args=["remind", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "Sent 2 reminder digests" in result.output
    by_recipient = {m["To"]: m.get_payload() for m in inbox.messages}
    # police@ owns the overdue action by name; the unnamed one goes to the agency's practitioners.
    assert set(by_recipient) == {"police@example.org", "chair@example.org"}
    police = by_recipient["police@example.org"]
    assert overdue in police and "OVERDUE" in police and soon in police and later not in police
    for body in by_recipient.values():
        assert "SECRET-PLAN" not in body
    with app.app_context():
        reminded = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "action.remind")).all()
        assert sorted({e.case_ref for e in reminded}) == sorted({overdue, soon})


def test_remind_with_nothing_due_sends_nothing(app, runner, people, inbox):
    result = runner.invoke(args=["remind"])
    assert result.exit_code == 0 and "nothing sent" in result.output
    assert inbox.messages == []


def test_a_refused_recipient_is_recorded_as_undelivered_and_the_others_still_get_theirs(app, runner, people, make,
                                                                                         smtp_port):
    from aiosmtpd.controller import Controller

    from tests.conftest import Inbox

    class RefusingPolice(Inbox):
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                              rcpt_options: Any) -> str:
            if address == "police@example.org":
                return "550 No such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    named = agree(app, people, make, "SECRET-PLAN-ALPHA", date.today() + timedelta(days=1), people["police"])
    unnamed = agree(app, people, make, "SECRET-PLAN-BETA", date.today() + timedelta(days=2), None)
    handler = RefusingPolice()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        result = runner.invoke(args=["remind", "--days", "7"])
    finally:
        controller.stop()
    assert result.exit_code == 1
    assert "Sent 1 reminder digest" in result.output and "Not delivered to 1: police@example.org" in result.output
    assert [m["To"] for m in handler.messages] == ["chair@example.org"]
    with app.app_context():
        def refs(action: str) -> list[str]:
            return sorted(e.case_ref for e in db.session.scalars(
                select(AccessLogEntry).where(AccessLogEntry.action == action)))
        # chair@ had the unnamed action; police@ had both and got nothing: every digest was
        # recorded before it was sent, and the refused one again as undelivered.
        assert refs("action.remind") == sorted([unnamed, named, unnamed])
        assert refs("action.remind.undelivered") == sorted([named, unnamed])


def test_an_address_no_mail_can_carry_is_skipped_and_recorded(app, runner, people, make, inbox):
    """A stored address with a line break (from before addresses were checked): that digest is
    recorded as undelivered and the run goes on to the others."""
    from riskhub.models.accounts import User

    named = agree(app, people, make, "SECRET-PLAN-ALPHA", date.today() + timedelta(days=1), people["police"])
    unnamed = agree(app, people, make, "SECRET-PLAN-BETA", date.today() + timedelta(days=2), None)
    with app.app_context():
        db.session.get(User, people["police"]).email = "police@example.org\nBcc: someone@example.net"
        db.session.commit()
    result = runner.invoke(args=["remind", "--days", "7"])
    assert result.exit_code == 1, result.output
    assert "Sent 1 reminder digest" in result.output and "Not delivered to 1" in result.output
    assert [m["To"] for m in inbox.messages] == ["chair@example.org"]
    with app.app_context():
        undelivered = db.session.scalars(select(AccessLogEntry).where(
            AccessLogEntry.action == "action.remind.undelivered")).all()
        assert sorted(e.case_ref for e in undelivered) == sorted([named, unnamed])
