"""Two chairs changing one agenda at the same moment: each change happens once, and neither is lost.

PostgreSQL only: SQLite serialises every write transaction, so there the second request simply
runs after the first and is told the case is no longer on the agenda (tests/test_meetings.py).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from riskhub.models.cases import Case
from riskhub.models.meetings import AgendaItem, Meeting
from riskhub.models.referrals import Referral
from tests.conftest import BACKEND, AuthActions, Factory, csrf_token
from tests.test_meetings import SOON, button_form, case_order, schedule, world

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="SQLite serialises every write transaction; this is PostgreSQL's behaviour")

WAIT = 20  # seconds: generous, only reached when a request is stuck


def waiting_on_locks(app: Flask) -> int:
    with app.app_context(), db.engine.connect() as connection:
        return int(connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")))


def meet_at_row(app: Flask, table: str, row_id: Any, calls: list[Callable[[], None]]) -> bool:
    """Run `calls` in threads while a third transaction holds the row, until all of them wait on
    a lock (or WAIT passes); then let it go and wait for them. Whether they all met there."""
    with app.app_context(), db.engine.connect() as holder:
        transaction = holder.begin()
        holder.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"), {"id": row_id})
        threads = [threading.Thread(target=call) for call in calls]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + WAIT
        while waiting_on_locks(app) < len(calls) and time.monotonic() < deadline:
            time.sleep(0.05)
        met = waiting_on_locks(app) >= len(calls)
        transaction.commit()
    for thread in threads:
        thread.join(WAIT)
    return met


def test_two_chairs_removing_one_case_at_once_take_it_off_once(app: Flask, client: Any, auth: AuthActions,
                                                               make: Factory, people: dict[str, Any]) -> None:
    """Both requests reach the entry together (a third transaction holds its row until both are
    waiting): one takes the case off, the other is told it is no longer on the agenda; neither is
    an error page, the referral is back in the queue and one removal is on record."""
    w = world(app, client, auth, people, make)
    make.user("chair2@example.org", people["police_agency"], ("chair", "practitioner"))
    other = app.test_client()
    AuthActions(other).login("chair2@example.org")
    pages = [c.get(f"/meetings/{w['meeting']}").get_data(as_text=True) for c in (client, other)]
    with app.app_context():
        item_id = db.session.scalar(select(AgendaItem.id).where(AgendaItem.case.has(Case.reference == w["adult"])))
    answers: dict[str, Any] = {}

    def press(name: str, chair: Any, page: str) -> None:
        remove, data = button_form(page, f"Remove {w['adult']}")
        answers[name] = chair.post(remove, data=data)

    both_waited = meet_at_row(app, "agenda_items", item_id, [
        lambda: press("one", client, pages[0]), lambda: press("two", other, pages[1])])
    assert both_waited, "the two removals did not meet at the entry"

    assert [answers[name].status_code for name in ("one", "two")] == [302, 302]
    told = [("no longer on the agenda" in chair.get(f"/meetings/{w['meeting']}").get_data(as_text=True))
            for chair in (client, other)]
    assert sorted(told) == [False, True], "exactly one chair is told the case was already taken off"
    with app.app_context():
        assert db.session.get(AgendaItem, item_id) is None
        assert db.session.scalar(select(func.count()).select_from(AgendaItem)) == 3
        referral = db.session.scalar(select(Referral).where(Referral.case.has(Case.reference == w["adult"])))
        assert referral.status.value == "waiting"
        removals = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "agenda.remove")).all()
        assert [e.case_ref for e in removals] == [w["adult"]]


def test_two_chairs_adding_one_case_to_two_agendas_at_once_put_it_on_one(app: Flask, client: Any, auth: AuthActions,
                                                                         make: Factory, people: dict[str, Any]) -> None:
    """A waiting case is added by one chair to this meeting and by another to the next, at the same
    moment: it goes on one agenda, the other chair is told where it is, and its referral is
    scheduled once."""
    w = world(app, client, auth, people, make)
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    remove, data = button_form(page, f"Remove {w['adult']}")
    removed = client.post(remove, data=data)
    assert removed.status_code == 302
    later = schedule(client, [people["idva_agency"], people["police_agency"]],
                     date=(SOON + timedelta(days=14)).isoformat())
    next_meeting = later.headers["Location"].rsplit("/", 1)[-1]
    make.user("chair2@example.org", people["police_agency"], ("chair", "practitioner"))
    other = app.test_client()
    AuthActions(other).login("chair2@example.org")
    with app.app_context():
        referral_id = db.session.scalar(select(Referral.id).where(Referral.case.has(Case.reference == w["adult"])))
    forms = [(client, w["meeting"], client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)),
             (other, next_meeting, other.get(f"/meetings/{next_meeting}").get_data(as_text=True))]
    answers: dict[str, Any] = {}

    def add(chair: Any, meeting: str, shown: str) -> None:
        answers[meeting] = chair.post(f"/meetings/{meeting}/items", data={
            "csrf_token": csrf_token(shown), "referral": str(referral_id)})

    both_waited = meet_at_row(app, "referrals", referral_id, [lambda form=form: add(*form) for form in forms])
    assert both_waited, "the two additions did not meet at the referral"

    assert [answers[m].status_code for _, m, _ in forms] == [302, 302]
    told = [html.unescape(chair.get(f"/meetings/{m}").get_data(as_text=True)) for chair, m, _ in forms]
    added = [f"{w['adult']} added to the agenda" in t for t in told]
    refused = [f"{w['adult']} is already on another meeting's agenda" in t for t in told]
    assert sorted(added) == [False, True] and refused == [not a for a in added]
    with app.app_context():
        items = db.session.scalars(select(AgendaItem).where(AgendaItem.case.has(Case.reference == w["adult"]))).all()
        assert len(items) == 1
        assert db.session.get(Referral, referral_id).status.value == "scheduled"
        additions = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "agenda.add",
                                                                    AccessLogEntry.case_ref == w["adult"])).all()
        assert len(additions) == 2  # the first proposal's, and this one's


def test_two_chairs_adding_different_cases_to_one_agenda_at_once_add_both(
        app: Flask, client: Any, auth: AuthActions, make: Factory, people: dict[str, Any]) -> None:
    """Two chairs each add a different waiting case to the same agenda at the same moment (a third
    transaction holds the meeting until both are waiting): both cases go on, each told so, in the
    agenda's order with no position used twice."""
    w = world(app, client, auth, people, make)
    for reference in (w["adult"], w["family"]):
        page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
        remove, data = button_form(page, f"Remove {reference}")
        removed = client.post(remove, data=data)
        assert removed.status_code == 302
    make.user("chair2@example.org", people["police_agency"], ("chair", "practitioner"))
    other = app.test_client()
    AuthActions(other).login("chair2@example.org")
    with app.app_context():
        meeting_id = db.session.scalar(select(Meeting.id).where(Meeting.reference == w["meeting"]))
        referrals = {r: db.session.scalar(select(Referral.id).where(Referral.case.has(Case.reference == r)))
                     for r in (w["adult"], w["family"])}
    chairs = {w["adult"]: client, w["family"]: other}
    shown = {r: chair.get(f"/meetings/{w['meeting']}").get_data(as_text=True) for r, chair in chairs.items()}
    answers: dict[str, Any] = {}

    def add(reference: str) -> None:
        answers[reference] = chairs[reference].post(f"/meetings/{w['meeting']}/items", data={
            "csrf_token": csrf_token(shown[reference]), "referral": str(referrals[reference])})

    both_waited = meet_at_row(app, "meetings", meeting_id, [lambda r=r: add(r) for r in chairs])
    assert both_waited, "the two additions did not meet at the meeting"

    assert [answers[r].status_code for r in chairs] == [302, 302]
    for reference, chair in chairs.items():
        told = html.unescape(chair.get(f"/meetings/{w['meeting']}").get_data(as_text=True))
        assert f"{reference} added to the agenda" in told
    with app.app_context():
        items = db.session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                                   .order_by(AgendaItem.position)).all()
        assert [i.position for i in items] == [0, 1, 2, 3]
        assert [i.kind.value for i in items] == ["actions_review", "case", "case", "other_business"]
        assert items[1].case.reference == w["family"]  # the case with a child comes first
        assert {db.session.get(Referral, r).status.value for r in referrals.values()} == {"scheduled"}
        additions = db.session.scalars(select(AccessLogEntry.case_ref)
                                       .where(AccessLogEntry.action == "agenda.add")).all()
        assert sorted(additions) == sorted([w["adult"], w["family"]] * 2)  # the proposal's and these


def test_two_chairs_moving_one_case_at_once_move_it_once(app: Flask, client: Any, auth: AuthActions,
                                                         make: Factory, people: dict[str, Any]) -> None:
    """Both chairs press "Move down" on the first case at the same moment: it moves one place, not
    two, and the chair whose press came second is told the entry changed since their page."""
    w = world(app, client, auth, people, make)
    before = case_order(app, w["meeting"])
    make.user("chair2@example.org", people["police_agency"], ("chair", "practitioner"))
    other = app.test_client()
    AuthActions(other).login("chair2@example.org")
    pages = {"one": (client, client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)),
             "two": (other, other.get(f"/meetings/{w['meeting']}").get_data(as_text=True))}
    with app.app_context():
        meeting_id = db.session.scalar(select(Meeting.id).where(Meeting.reference == w["meeting"]))
    answers: dict[str, Any] = {}

    def press(name: str) -> None:
        chair, page = pages[name]
        down, data = button_form(page, f"Move {before[0]} down")
        answers[name] = chair.post(down, data=data)

    both_waited = meet_at_row(app, "meetings", meeting_id, [lambda: press("one"), lambda: press("two")])
    assert both_waited, "the two moves did not meet at the meeting"

    assert [answers[name].status_code for name in pages] == [302, 302]
    assert case_order(app, w["meeting"]) == [before[1], before[0], *before[2:]]
    told = ["changed since your page was shown" in html.unescape(chair.get(f"/meetings/{w['meeting']}")
                                                                  .get_data(as_text=True))
            for chair, _ in pages.values()]
    assert sorted(told) == [False, True]
