"""The chair emails the agenda to the agencies invited: references, times and risk levels only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from tests.conftest import post_form
from tests.test_meetings import schedule, world


@pytest.fixture
def app_config(smtp_port: int) -> dict[str, Any]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_port, "SMTP_FROM": "riskhub@test.example",
            "BASE_URL": "https://riskhub.example"}


def sent_entries(app: Any) -> list[AccessLogEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "agenda.send")
                                       .order_by(AccessLogEntry.seq)))


def test_the_agenda_goes_to_every_practitioner_invited_with_no_survivor_details(app, client, auth, people, make,
                                                                               inbox):
    w = world(app, client, auth, people, make)
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    assert "The agenda has not been emailed to the agencies invited yet." in page
    response = post_form(client, f"/meetings/{w['meeting']}/agenda/send", {}, page=f"/meetings/{w['meeting']}")
    assert response.status_code == 302
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    assert "Agenda sent to 4 people in the agencies invited." in page
    assert "Agenda emailed to the agencies invited on" in page and "(4 people)" in page

    # Practitioners and chairs of the three agencies invited; not the auditor or the admin.
    assert sorted(m["To"] for m in inbox.messages) == [
        "chair@example.org", "idva@example.org", "police@example.org", "programme@example.org"]
    body = inbox.messages[0].get_payload(decode=True).decode().replace("\r\n", "\n")
    assert f"Agenda of joint risk meeting {w['meeting']}" in body
    assert f"Case {w['adult']}: survivor-side risk high / perpetrator-side risk not assessed" in body
    assert f"Case {w['family']}: survivor-side risk not assessed" in body
    assert f"https://riskhub.example/meetings/{w['meeting']}" in body
    for secret in ("Ada", "Adult", "Fay", "Family", "Kit", "SURVIVOR-ONLY-NOTE"):
        assert all(secret not in m.get_payload(decode=True).decode() + str(m["Subject"])
                   for m in inbox.messages), secret

    entries = sent_entries(app)
    assert sorted(str(e.object_id) for e in entries if e.object_type == "user") == sorted(
        str(people[k]) for k in ("chair", "idva", "police", "programme"))
    assert sorted(e.case_ref for e in entries if e.object_type == "meeting") == sorted([w["adult"], w["family"]])
    assert all(e.user_id == people["chair"] for e in entries)


def test_an_address_no_mail_can_carry_is_skipped_and_recorded_the_rest_are_sent(app, client, auth, people, make,
                                                                                inbox):
    """A stored address with a line break (from before addresses were checked) cannot be mailed:
    that person is recorded as not reached, everyone else gets the agenda."""
    from riskhub.models.accounts import User

    w = world(app, client, auth, people, make)
    with app.app_context():
        user = db.session.get(User, people["police"])
        user.email = "police@example.org\nBcc: someone@example.net"
        db.session.commit()
    response = post_form(client, f"/meetings/{w['meeting']}/agenda/send", {}, page=f"/meetings/{w['meeting']}")
    assert response.status_code == 302
    assert sorted(m["To"] for m in inbox.messages) == ["chair@example.org", "idva@example.org", "programme@example.org"]
    with app.app_context():
        [skipped] = db.session.scalars(select(AccessLogEntry).where(
            AccessLogEntry.action == "agenda.undelivered")).all()
        assert skipped.object_id == str(people["police"]) and skipped.purpose.endswith("address not usable")
    assert str(people["police"]) not in {e.object_id for e in sent_entries(app)}


def test_practitioners_cannot_send_the_agenda_and_the_attempt_is_logged(app, client, auth, people, make, inbox):
    w = world(app, client, auth, people, make)
    auth.logout()
    auth.login("police@example.org")
    response = post_form(client, f"/meetings/{w['meeting']}/agenda/send", {}, page=f"/meetings/{w['meeting']}")
    assert response.status_code == 403
    assert inbox.messages == []
    with app.app_context():
        denied = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "agenda.send.denied")).one()
        assert denied.user_id == people["police"]


def test_an_empty_agenda_or_an_unreachable_mail_server_gets_a_clear_message(app, client, auth, people, make):
    auth.login("chair@example.org")
    empty = schedule(client, [people["idva_agency"]]).headers["Location"].rsplit("/", 1)[-1]
    response = post_form(client, f"/meetings/{empty}/agenda/send", {}, page=f"/meetings/{empty}")
    assert response.status_code == 302
    assert "The agenda has no cases yet" in client.get(f"/meetings/{empty}").get_data(as_text=True)
    auth.logout()

    w = world(app, client, auth, people, make)  # no SMTP server is listening
    response = post_form(client, f"/meetings/{w['meeting']}/agenda/send", {}, page=f"/meetings/{w['meeting']}")
    assert response.status_code == 302
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    assert "The mail server could not be reached: the agenda was not sent." in page
    assert "The agenda has not been emailed to the agencies invited yet." in page
    assert sent_entries(app) == []


def test_no_agenda_mail_leaves_when_the_access_log_cannot_be_written(app, client, auth, people, make, inbox):
    from tests.conftest import csrf_token
    from tests.test_errors import _rename

    w = world(app, client, auth, people, make)
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    before = len(sent_entries(app))
    _rename(app, "access_log", "access_log_offline")
    try:
        response = client.post(f"/meetings/{w['meeting']}/agenda/send", data={"csrf_token": csrf_token(page)})
    finally:
        _rename(app, "access_log_offline", "access_log")
    assert response.status_code == 503
    assert inbox.messages == []
    assert len(sent_entries(app)) == before
