"""Referral reasons established by assessments, the queue, thresholds and the worker rule."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.assessments import Assessment
from riskhub.models.cases import Case, CaseWorker
from riskhub.models.referrals import Referral
from tests.conftest import post_form
from tests.test_cases import survivor_answers

TODAY = date.today().isoformat()


def assess(client, reference: str, yes: int, callouts: str = "") -> None:
    response = post_form(client, f"/cases/{reference}/assessments/new/survivor",
                         {"assessed_on": TODAY, **survivor_answers(yes), "police_callouts": callouts})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_high_score_and_callouts_add_reasons_automatically(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    assess(client, reference, 14, callouts="6")
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Potential escalation" in page
    form = client.get(f"/cases/{reference}/refer").get_data(as_text=True)
    assert "Visible high risk" in form and "Potential escalation" in form
    response = post_form(client, f"/cases/{reference}/refer", {"consent": "given"}, hidden=("shown",))
    assert response.status_code == 302
    with app.app_context():
        referral = db.session.scalars(select(Referral)).one()
        assert referral.reasons == "escalation,visible_high_risk"


def test_a_case_is_not_referred_twice_while_waiting(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    data = {"reasons": "professional_judgement", "consent": "given"}
    assert post_form(client, f"/cases/{reference}/refer", data, hidden=("shown",)).status_code == 302
    again = post_form(client, f"/cases/{reference}/refer", data, hidden=("shown",))
    assert again.status_code == 400
    assert "already waiting" in again.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Referral)).all()) == 1


def test_referral_needs_a_reason(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    response = post_form(client, f"/cases/{reference}/refer", {"consent": "given"}, hidden=("shown",))
    assert response.status_code == 400
    assert "Choose at least one reason" in response.get_data(as_text=True)


class TestThresholds:
    @pytest.fixture
    def app_config(self):
        return {"RISK_THRESHOLDS": {"survivor-ric": {"medium": 5, "high": 8}}, "ESCALATION_CALLOUTS": 3}

    def test_deployment_thresholds_change_the_bands(self, app, client, auth, people, make):
        reference = make.case(people["idva"])
        auth.login("idva@example.org")
        assess(client, reference, 8, callouts="3")
        with app.app_context():
            assert db.session.scalars(select(Assessment)).one().level == "high"
        assert "Potential escalation" in client.get(f"/cases/{reference}").get_data(as_text=True)


def test_referral_queue_lists_waiting_cases_for_chairs_only(app, client, auth, people, make):
    first = make.case(people["idva"], involve=(people["police_agency"],))
    second = make.case(people["idva"])
    auth.login("idva@example.org")
    for reference in (first, second):
        post_form(client, f"/cases/{reference}/refer", {"reasons": "professional_judgement", "consent": "given"},
                         hidden=("shown",))
    assert client.get("/referrals").status_code == 403
    auth.logout()
    auth.login("chair@example.org")
    html = client.get("/referrals").get_data(as_text=True)
    assert html.index(first) < html.index(second)
    assert "Professional judgement" in html


def test_the_same_person_cannot_work_both_sides(app, client, auth, people, make):
    from riskhub.models.accounts import User
    from riskhub.models.cases import WorkerSide
    from riskhub.operations import OperationError
    from riskhub.operations import cases as ops

    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        idva = db.session.get(User, people["idva"])
        assert [(w.user_id, w.side.value) for w in case.workers] == [(idva.id, "survivor")]
        with pytest.raises(OperationError, match="cannot support both"):
            ops.assign_worker(case, idva, WorkerSide.PERPETRATOR, by=idva)
    auth.login("programme@example.org")
    post_form(client, f"/cases/{reference}/workers", {}, page=f"/cases/{reference}")
    with app.app_context():
        sides = {w.side.value for w in db.session.scalars(select(CaseWorker))}
        assert sides == {"survivor", "perpetrator"}


PAIR = {"survivor": ("Ana", "Silva", date(1991, 3, 4)), "perpetrator": ("Rui", "Costa", date(1989, 1, 2))}


def log_entries(app, action: str, reference: str) -> list:
    from riskhub.models.audit import AccessLogEntry

    with app.app_context():
        return list(db.session.scalars(select(AccessLogEntry).where(
            AccessLogEntry.action == action, AccessLogEntry.case_ref == reference)))


def test_the_referral_form_gives_only_the_date_of_an_earlier_case_the_agency_is_not_in(app, client, auth, people,
                                                                                       make):
    first = make.case(people["police"], **PAIR)
    second = make.case(people["idva"], **PAIR)
    auth.login("police@example.org")
    assert post_form(client, f"/cases/{first}/refer", {"reasons": "professional_judgement",
                                                       "consent": "given"}, hidden=("shown",)).status_code == 302
    auth.logout()
    auth.login("idva@example.org")
    form = client.get(f"/cases/{second}/refer").get_data(as_text=True)
    assert "This will be marked as a repeat" in form
    assert "in another case your agency is not involved in" in form
    assert first not in form
    [entry] = log_entries(app, "case.repeat_of", first)  # the date of its referral was shown, so on record
    assert entry.outcome == "allowed" and entry.sections == ""
    assert entry.purpose == f"referral date only, repeat in {second}"


def test_the_referral_form_logs_the_earlier_case_it_names(app, client, auth, people, make):
    first = make.case(people["idva"], **PAIR)
    second = make.case(people["idva"], **PAIR)
    auth.login("idva@example.org")
    assert post_form(client, f"/cases/{first}/refer", {"reasons": "professional_judgement",
                                                       "consent": "given"}, hidden=("shown",)).status_code == 302
    form = client.get(f"/cases/{second}/refer").get_data(as_text=True)
    assert f"({first})" in form
    [entry] = log_entries(app, "case.repeat_of", first)
    assert entry.outcome == "allowed" and entry.purpose == f"repeat in {second}"
    assert entry.sections == "referrals"


def test_the_referral_queue_logs_each_case_it_shows(app, client, auth, people, make):
    cases = [make.case(people["idva"], survivor=(f"Sam{n}", "Queue", None)) for n in range(2)]
    auth.login("idva@example.org")
    for reference in cases:
        assert post_form(client, f"/cases/{reference}/refer", {"reasons": "professional_judgement",
                                                               "consent": "given"},
                         hidden=("shown",)).status_code == 302
    auth.logout()
    auth.login("chair@example.org")
    page = client.get("/referrals").get_data(as_text=True)
    for reference in cases:
        assert reference in page
        [entry] = log_entries(app, "referrals.queue", reference)
        assert entry.sections == "referrals" and entry.object_type == "case"


def test_a_case_closed_after_the_referral_form_was_shown_is_not_referred_unasked(app, client, auth, people, make):
    """One worker opens the referral form; another closes the case; the referral is not made on the
    old page, the answers are kept, and pressing Refer again refers the case as it now is."""
    from tests.conftest import AuthActions, csrf_token, hidden_value

    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    form = client.get(f"/cases/{reference}/refer").get_data(as_text=True)
    colleague = app.test_client()
    AuthActions(colleague).login("idva@example.org")
    assert post_form(colleague, f"/cases/{reference}/status", {"status": "closed"}, page=f"/cases/{reference}",
                     hidden=("shown",)).status_code == 302
    data = {"reasons": "professional_judgement", "consent": "given", "csrf_token": csrf_token(form),
            "shown": hidden_value(form, "shown")}
    stale = client.post(f"/cases/{reference}/refer", data=data)
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "changed this case&#39;s status to closed" in html
    assert re.search(r'<input checked[^>]*value="professional_judgement"', html)  # the answers are kept
    with app.app_context():
        assert db.session.scalars(select(Referral)).all() == []
        assert db.session.scalar(select(Case).where(Case.reference == reference)).status.value == "closed"
    again = client.post(f"/cases/{reference}/refer", data={**data, "shown": hidden_value(html, "shown")})
    assert again.status_code == 302
    with app.app_context():
        assert len(db.session.scalars(select(Referral)).all()) == 1
