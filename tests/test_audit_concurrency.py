"""The access log does not make requests wait for one another; one-time decisions are not made twice.

A request notes its access-log entries as it goes and appends them just before it commits, so
the chain head is locked for moments, not for the whole request. On SQLite every write
transaction is serialised anyway (BEGIN IMMEDIATE); PostgreSQL, the production database, is
where requests on different cases run side by side.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from tests.conftest import BACKEND, AuthActions, Factory
from tests.test_partnerships import enrolled_case, record_event

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="SQLite serialises every write transaction; this is PostgreSQL's behaviour")

WAIT = 20  # seconds: generous, only reached when a request is stuck behind another


def race(app: Flask, decide: Any, first: tuple[Any, ...], second: tuple[Any, ...]) -> tuple[dict[Any, str], bool]:
    """Run `decide(*first)` and hold its transaction open while `decide(*second)` starts; then let
    the first commit. Each call's key (its second argument) maps to "recorded" or the refusal's
    message; the flag says whether the second had to wait for the first."""
    from riskhub.operations import OperationError

    held, release = threading.Event(), threading.Event()
    outcome: dict[Any, str] = {}

    def run(args: tuple[Any, ...], hold: bool) -> None:
        with app.app_context():
            try:
                decide(*args)
                if hold:
                    held.set()
                    release.wait(WAIT)
                db.session.commit()
                outcome[args[1]] = "recorded"
            except OperationError as refused:
                db.session.rollback()
                outcome[args[1]] = refused.message

    one = threading.Thread(target=run, args=(first, True))
    one.start()
    assert held.wait(WAIT)
    two = threading.Thread(target=run, args=(second, False))
    two.start()
    two.join(1)
    waited = two.is_alive()  # behind the first one's row lock
    release.set()
    one.join(WAIT)
    two.join(WAIT)
    return outcome, waited


def test_a_slow_request_does_not_hold_up_another_users_case_page(app: Flask, make: Factory,
                                                                 people: dict[str, Any]) -> None:
    reference = make.case(people["idva"], involve=(people["police_agency"],))
    held, release = threading.Event(), threading.Event()

    def slow_page() -> str:  # a request that has recorded a view and is still rendering
        from flask_login import current_user

        audit.record("case.view", actor=audit.actor_for(current_user), case_ref=reference, sections=("summary",))
        held.set()
        release.wait(WAIT)
        return "done"

    app.add_url_rule("/slow-page", "slow_page", slow_page)
    slow_client, other_client = app.test_client(), app.test_client()
    AuthActions(slow_client).login("police@example.org")
    AuthActions(other_client).login("idva@example.org")
    answers: dict[str, Any] = {}

    slow = threading.Thread(target=lambda: answers.update(slow=slow_client.get("/slow-page")))
    slow.start()
    try:
        assert held.wait(WAIT), "the slow request never started"
        other = threading.Thread(target=lambda: answers.update(other=other_client.get(f"/cases/{reference}")))
        other.start()
        other.join(WAIT)
        finished_while_held = not other.is_alive()
    finally:
        release.set()
        slow.join(WAIT)
    assert finished_while_held, "the case page waited for the other request to finish"
    assert answers["other"].status_code == 200 and answers["slow"].status_code == 200

    with app.app_context():
        views = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.case_ref == reference,
                                                                AccessLogEntry.action == "case.view")
                                   .order_by(AccessLogEntry.seq)).all()
        # Both views are on record, the one that finished first first in the chain.
        assert [v.user_id for v in views] == [people["idva"], people["police"]]
    with app.app_context():
        checked, problem = audit.verify_chain()
        assert problem is None and checked >= 2


def test_two_auditors_deciding_on_one_emergency_access_at_once_record_one_decision(
        app: Flask, make: Factory, people: dict[str, Any]) -> None:
    """The second auditor's decision waits for the first and is refused, not written over it."""
    from riskhub.models.accounts import User
    from riskhub.models.cases import EmergencyAccess
    from riskhub.operations.audit_reviews import review_emergency_access
    from riskhub.operations.cases import take_emergency_access

    reference = make.case(people["idva"])
    second_auditor = make.user("auditor2@example.org", people["police_agency"], ("auditor",))
    with app.app_context():
        from riskhub.models.cases import Case

        case = db.session.scalars(select(Case).where(Case.reference == reference)).one()
        grant = take_emergency_access(case, "Called to the address overnight by a neighbour",
                                      by=db.session.get(User, people["police"]))
        db.session.commit()
        grant_id = grant.id
    def decide(user_id: Any, verdict: str) -> None:
        review_emergency_access(db.session.get(EmergencyAccess, grant_id), verdict, f"Decided {verdict}",
                                reviewer=db.session.get(User, user_id))

    outcome, waited = race(app, decide, (people["auditor"], "justified"), (second_auditor, "not_justified"))
    assert waited
    assert outcome == {"justified": "recorded", "not_justified": "This emergency access has already been reviewed"}
    with app.app_context():
        stored = db.session.get(EmergencyAccess, grant_id)
        assert stored.reviewer_id == people["auditor"] and stored.review_outcome == "justified"


def test_two_workers_answering_one_risk_notice_at_once_record_one_answer(
        app: Flask, client: Any, auth: AuthActions, make: Factory, people: dict[str, Any]) -> None:
    """The second partner-contact worker's answer waits for the first and is refused, not written over it."""
    from riskhub.models.accounts import User
    from riskhub.models.partnerships import RiskNotice
    from riskhub.operations.partner_contact import resolve_notice

    reference = enrolled_case(client, auth, people, make)
    assert record_event(client, reference, "missed_session", "Third missed session").status_code == 302
    auth.logout()
    second_worker = make.user("idva2@example.org", people["idva_agency"])
    with app.app_context():
        notice_id = db.session.scalars(select(RiskNotice.id)).one()
    def answer(user_id: Any, informed: bool) -> None:
        resolve_notice(db.session.get(RiskNotice, notice_id), informed=informed,
                       reason="" if informed else "Her phone was off all day", by=db.session.get(User, user_id))

    outcome, waited = race(app, answer, (people["idva"], True), (second_worker, False))
    assert waited
    assert outcome == {True: "recorded", False: "This notice has already been dealt with"}
    with app.app_context():
        stored = db.session.get(RiskNotice, notice_id)
        assert stored.partner_informed is True and stored.resolved_by_id == people["idva"] and stored.reason is None
