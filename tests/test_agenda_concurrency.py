"""Two chairs pressing Remove on the same agenda entry at the same moment take it off once.

PostgreSQL only: SQLite serialises every write transaction, so there the second request simply
runs after the first and is told the case is no longer on the agenda (tests/test_meetings.py).
"""

from __future__ import annotations

import threading
import time
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
from tests.test_meetings import button_action, world

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="SQLite serialises every write transaction; this is PostgreSQL's behaviour")

WAIT = 20  # seconds: generous, only reached when a request is stuck


def waiting_on_locks(app: Flask) -> int:
    with app.app_context(), db.engine.connect() as connection:
        return int(connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")))


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

    with app.app_context(), db.engine.connect() as holder:
        transaction = holder.begin()
        holder.execute(text("SELECT id FROM agenda_items WHERE id = :id FOR UPDATE"), {"id": item_id})
        threads = [threading.Thread(target=press, args=(name, chair, page))
                   for name, chair, page in (("one", client, pages[0]), ("two", other, pages[1]))]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + WAIT
        while waiting_on_locks(app) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        both_waited = waiting_on_locks(app) >= 2
        transaction.commit()
    for thread in threads:
        thread.join(WAIT)
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
