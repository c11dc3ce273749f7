"""Two chairs changing one agenda entry at the same moment: it changes once, and the other is told.

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
from riskhub.models.meetings import AgendaItem
from riskhub.models.referrals import Referral
from tests.conftest import BACKEND, AuthActions, Factory, csrf_token
from tests.test_meetings import SOON, button_action, schedule, world

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
        answers[name] = chair.post(button_action(page, f"Remove {w['adult']}"), data={"csrf_token": csrf_token(page)})

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
    removed = client.post(button_action(page, f"Remove {w['adult']}"), data={"csrf_token": csrf_token(page)})
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
