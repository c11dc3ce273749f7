"""Practitioners' journeys through a case: create, assess both sides, events, referral, edits."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy import func, select

from riskhub import access
from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.assessments import Assessment
from riskhub.models.audit import AccessLogEntry
from riskhub.models.cases import Case, EmergencyAccess
from riskhub.models.events import ProgrammeEvent
from riskhub.models.referrals import Referral
from tests.conftest import csrf_token, hidden_value, post_form

TODAY = date.today().isoformat()


def survivor_answers(yes: int) -> dict[str, str]:
    """Answers to the 24-item checklist with `yes` questions answered Yes."""
    from riskhub.assessments import load_catalogue

    template = load_catalogue().current("survivor")
    return {f"item_{item.id}": ("yes" if n < yes else "no") for n, item in enumerate(template.items)}


def perpetrator_answers(level: str = "medium") -> dict[str, str]:
    from riskhub.assessments import load_catalogue

    template = load_catalogue().current("perpetrator")
    answers = {f"item_{item.id}": "1" for item in template.items}
    return {**answers, "judgement_level": level, "firearms_access": "no"}


def count(app: Any, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def new_case_form(**overrides: str) -> dict[str, str]:
    data = {
        "survivor_given_name": "Zoë", "survivor_family_name": "O'Brien-Nakamura",
        "survivor_date_of_birth": "1990-05-17", "perpetrator_given_name": "Liam",
        "perpetrator_family_name": "Carter", "perpetrator_date_of_birth": "1988-02-03",
        "contact_address": "12 Safe Street", "contact_phone": "07700 900456",
    }
    return {**data, **overrides}


def test_create_case_through_the_form_and_warn_of_duplicates(app, client, auth, people):
    auth.login("idva@example.org")
    response = post_form(client, "/cases/new", new_case_form())
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"RH-\d{4}-\d{4}", reference)
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Zoë O&#39;Brien-Nakamura" in page

    # Same survivor spelt differently: warned, nothing stored until confirmed.
    again = post_form(client, "/cases/new", new_case_form(survivor_given_name="ZOE",
                                                          survivor_family_name="o'brien nakamura"))
    assert again.status_code == 400
    html = again.get_data(as_text=True)
    assert reference in html and "Riverside IDVA" in html
    assert count(app, Case) == 1
    confirmed = post_form(client, "/cases/new", new_case_form(confirm_not_duplicate="y"))
    assert confirmed.status_code == 302
    assert count(app, Case) == 2


def test_bad_input_names_each_problem_and_stores_nothing(app, client, auth, people):
    auth.login("idva@example.org")
    future = (date.today() + timedelta(days=3)).isoformat()
    response = post_form(client, "/cases/new", new_case_form(
        survivor_given_name="", survivor_date_of_birth=future, contact_phone="call me maybe"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html
    assert 'href="#survivor_given_name"' in html and "Enter the survivor&#39;s first name" in html
    assert "must be in the past" in html
    assert "Enter a phone number" in html
    assert count(app, Case) == 0


def test_assessments_side_by_side_with_disagreement_and_chart(app, client, auth, people, make):
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("idva@example.org")
    response = post_form(client, f"/cases/{reference}/assessments/new/survivor",
                         {"assessed_on": TODAY, **survivor_answers(15), "police_callouts": "2"})
    assert response.status_code == 302, response.get_data(as_text=True)
    auth.logout()
    auth.login("programme@example.org")
    response = post_form(client, f"/cases/{reference}/assessments/new/perpetrator",
                         {"assessed_on": TODAY, **perpetrator_answers("low")})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        rows = db.session.scalars(select(Assessment).order_by(Assessment.side)).all()
        assert [(a.side, a.score, a.level) for a in rows] == [("perpetrator", 20, "low"), ("survivor", 15, "high")]
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "The two services disagree on the level of risk" in page
    assert "<svg" in page and "Risk level over time" in page


def test_assessment_validation_and_professional_judgement_rationale(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    answers = survivor_answers(3)
    answers.pop("item_injury")
    response = post_form(client, f"/cases/{reference}/assessments/new/survivor",
                         {"assessed_on": "2001-01-01", **answers, "raise_to_high": "y"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Answer question 1" in html and 'href="#item_injury-0"' in html
    assert count(app, Assessment) == 0
    response = post_form(client, f"/cases/{reference}/assessments/new/survivor",
                         {"assessed_on": TODAY, **survivor_answers(3), "raise_to_high": "y"})
    assert response.status_code == 400
    assert "Explain why professional judgement" in response.get_data(as_text=True)
    response = post_form(client, f"/cases/{reference}/assessments/new/survivor",
                         {"assessed_on": TODAY, **survivor_answers(3), "raise_to_high": "y",
                          "rationale": "Recent threats with a knife reported by a neighbour"})
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.scalars(select(Assessment)).one()
        assert (stored.score, stored.form_level, stored.level, stored.judgement_raised) == (3, "standard", "high", True)


def test_correction_supersedes_and_keeps_both(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    post_form(client, f"/cases/{reference}/assessments/new/survivor", {"assessed_on": TODAY, **survivor_answers(4)})
    with app.app_context():
        first = db.session.scalars(select(Assessment)).one().id
    url = f"/cases/{reference}/assessments/new/survivor?supersedes={first}"
    response = post_form(client, url, {"assessed_on": TODAY, **survivor_answers(11)})
    assert response.status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(Assessment).order_by(Assessment.score)).all()
        assert [a.score for a in rows] == [4, 11]
        assert rows[1].supersedes_id == first
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Replaced by a correction" in page
    assert re.search(r'risk-level--medium">Medium', page)


def test_programme_events_alert_the_survivor_side_only(app, client, auth, people, make):
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    response = post_form(client, f"/cases/{reference}/events/new",
                         {"kind": "missed_session", "occurred_on": TODAY, "note": "Second missed session"})
    assert response.status_code == 302
    programme_page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "New from the programme" not in programme_page
    auth.logout()
    auth.login("idva@example.org")
    dashboard = client.get("/").get_data(as_text=True)
    assert "New from the programme" in dashboard and f"{reference}</a>: Missed a session" in dashboard
    with app.app_context():
        logged = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "case.alerts")).one()
        assert logged.case_ref == reference
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "New from the programme" in page and "Second missed session" in page
    with app.app_context():
        event_id = db.session.scalars(select(ProgrammeEvent)).one().id
    post_form(client, f"/cases/{reference}/events/{event_id}/seen", {}, page=f"/cases/{reference}")
    assert "New from the programme" not in client.get(f"/cases/{reference}").get_data(as_text=True)
    assert f"{reference}</a>: Missed a session" not in client.get("/").get_data(as_text=True)
    # Survivor-side staff cannot record programme events: the flow is one way.
    denied = post_form(client, f"/cases/{reference}/events/new", {"kind": "attended", "occurred_on": TODAY},
                       page=f"/cases/{reference}")
    assert denied.status_code == 403
    assert count(app, ProgrammeEvent) == 1



def test_an_agency_joining_a_case_is_alerted_to_events_it_has_not_seen(app, client, auth, people, make):
    """Open alerts follow each agency: one acknowledging does not hide them from an agency that joins later,
    and the migration that introduced them rebuilds the same alerts from events and acknowledgements."""
    from flask_migrate import downgrade, upgrade

    from riskhub.models.events import EventAlert

    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    post_form(client, f"/cases/{reference}/events/new",
              {"kind": "disclosure", "occurred_on": TODAY, "note": "Disclosed a new threat"})
    auth.logout()
    auth.login("idva@example.org")
    with app.app_context():
        event_id = db.session.scalars(select(ProgrammeEvent)).one().id
    post_form(client, f"/cases/{reference}/events/{event_id}/seen", {}, page=f"/cases/{reference}")
    assert f"{reference}</a>: New disclosure" not in client.get("/").get_data(as_text=True)
    joined = post_form(client, f"/cases/{reference}/agencies", {"agency": str(people["police_agency"])},
                       page=f"/cases/{reference}")
    assert joined.status_code == 302
    auth.logout()
    auth.login("police@example.org")
    assert f"{reference}</a>: New disclosure" in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("idva@example.org")
    assert f"{reference}</a>: New disclosure" not in client.get("/").get_data(as_text=True)

    with app.app_context():
        def open_alerts() -> set[tuple[object, object]]:
            return {(a.agency_id, a.event_id) for a in db.session.scalars(select(EventAlert))}

        before = open_alerts()
        # The programme recorded it and is never shown alerts: only the police's is open.
        assert before == {(people["police_agency"], event_id)}
        directory = app.extensions["migrate"].directory
        db.session.commit()
        try:
            downgrade(directory=directory, revision="5c2e7d0b9a41")  # when the programme's were written too
            assert open_alerts() == before | {(people["programme_agency"], event_id)}
            db.session.rollback()  # end the read: on SQLite it holds the writer's turn
            downgrade(directory=directory, revision="49e1fa850688")
        finally:
            upgrade(directory=directory)
        assert open_alerts() == before


def test_an_event_on_a_case_opened_in_the_same_transaction_still_alerts_agencies_joining_later(app, people):
    """A case opened and given an event in one transaction: an agency involved afterwards is alerted,
    while involving agencies in a new case without events writes no alerts at all, and the
    programme that recorded the event, perpetrator-facing, gets none."""
    from riskhub.models.accounts import Agency, User
    from riskhub.models.events import EventAlert, EventKind
    from riskhub.operations import cases as case_ops
    from riskhub.operations import events as event_ops

    with app.app_context():
        idva = db.session.get(User, people["idva"])
        programme = db.session.get(User, people["programme"])
        quiet = case_ops.create_case(creator=idva, survivor=case_ops.PersonDetails("Ann", "Quiet", None),
                                     perpetrators=[case_ops.PersonDetails("Bob", "Quiet", None)],
                                     contact=case_ops.ContactDetails())
        case_ops.involve_agency(quiet, db.session.get(Agency, people["police_agency"]), by=idva)
        case = case_ops.create_case(creator=idva, survivor=case_ops.PersonDetails("Ann", "Busy", None),
                                    perpetrators=[case_ops.PersonDetails("Bob", "Busy", None)],
                                    contact=case_ops.ContactDetails())
        case_ops.involve_agency(case, db.session.get(Agency, people["programme_agency"]), by=idva)
        event = event_ops.record_event(case, EventKind.MISSED, date.today(), "Missed the group", by=programme)
        case_ops.involve_agency(case, db.session.get(Agency, people["police_agency"]), by=idva)
        db.session.commit()
        alerts = {(a.agency_id, a.event_id) for a in db.session.scalars(select(EventAlert))}
        assert (people["police_agency"], event.id) in alerts
        assert alerts == {(agency, event.id) for agency in (people["idva_agency"], people["police_agency"])}

def test_referral_records_consent_and_detects_repeats(app, client, auth, people, make):
    first = make.case(people["idva"], survivor=("Ana", "Silva", date(1991, 3, 4)),
                      perpetrator=("Rui", "Costa", date(1989, 1, 2)))
    auth.login("idva@example.org")
    missing = post_form(client, f"/cases/{first}/refer", {"reasons": "professional_judgement",
                                                          "consent": "not_sought_unsafe"}, hidden=("shown",))
    assert missing.status_code == 400
    assert "record who decided to share and why" in missing.get_data(as_text=True)
    assert count(app, Referral) == 0
    response = post_form(client, f"/cases/{first}/refer", {
        "reasons": "professional_judgement", "consent": "not_sought_unsafe",
        "decided_by": "Team manager, IDVA service", "consent_reason": "He monitors her phone"}, hidden=("shown",))
    assert response.status_code == 302
    second = make.case(people["idva"], survivor=("ANA", "silva", date(1991, 3, 4)),
                       perpetrator=("Rui", "Costa", date(1989, 1, 2)))
    response = post_form(client, f"/cases/{second}/refer", {"reasons": "professional_judgement", "consent": "given"},
                         hidden=("shown",))
    assert response.status_code == 302
    with app.app_context():
        later = db.session.scalars(select(Referral).order_by(Referral.referred_at.desc())).first()
        assert "repeat" in later.reasons and later.repeat_of_id is not None
        assert later.case.status.value == "referred"


def test_only_the_same_survivor_with_the_same_person_causing_harm_makes_a_repeat(app, client, auth, people, make):
    """The survivor and the person causing harm are looked up together: a match on one of them,
    or on both with their places swapped, is not a repeat."""
    ana, rui, marco = ("Ana", "Silva", date(1991, 3, 4)), ("Rui", "Costa", date(1989, 1, 2)), ("Marco", "Reis", None)
    auth.login("idva@example.org")

    def refer(survivor, perpetrator):
        reference = make.case(people["idva"], survivor=survivor, perpetrator=perpetrator)
        response = post_form(client, f"/cases/{reference}/refer", {"reasons": "professional_judgement",
                                                                   "consent": "given"}, hidden=("shown",))
        assert response.status_code == 302
        with app.app_context():
            referral = db.session.scalars(select(Referral).join(Case).where(Case.reference == reference)).one()
            return referral.id, referral.repeat_of_id, referral.reasons

    first, _, _ = refer(ana, rui)
    assert refer(ana, marco)[1:] == (None, "professional_judgement")
    assert refer(rui, ana)[1:] == (None, "professional_judgement")
    _, repeat_of, reasons = refer(ana, rui)
    assert repeat_of == first and "repeat" in reasons


def test_a_correction_sent_twice_is_refused_the_second_time(app, client, auth, people, make):
    """The same correction posted twice (a double click, the back button) corrects once; the second
    answers 409 saying the assessment was already corrected, and stores nothing."""
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    post_form(client, f"/cases/{reference}/assessments/new/survivor", {"assessed_on": TODAY, **survivor_answers(4)})
    with app.app_context():
        first = db.session.scalars(select(Assessment)).one().id
    url = f"/cases/{reference}/assessments/new/survivor?supersedes={first}"
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)
    data = {"assessed_on": TODAY, **survivor_answers(11), "csrf_token": token}
    assert client.post(url, data=data).status_code == 302
    again = client.post(url, data=data)
    assert again.status_code == 409
    assert "This assessment has already been corrected" in again.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        rows = db.session.scalars(select(Assessment).order_by(Assessment.score)).all()
        assert [(a.score, a.supersedes_id) for a in rows] == [(4, None), (11, first)]


def test_the_database_refuses_a_second_correction_of_the_same_assessment(app, people, make):
    """Two requests checking at the same moment both pass the check: the unique index still
    lets only one correction through, and the operation refuses the other cleanly."""
    from riskhub.operations import ConflictError
    from riskhub.operations import assessments as ops

    reference = make.case(people["idva"])
    with app.test_request_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        assessor = db.session.get(User, people["idva"])
        template = ops.current_form("survivor")
        answers = survivor_answers(4)
        submission = ops.Submission(assessed_on=date.today(), sources={},
                                    answers={k.removeprefix("item_"): v for k, v in answers.items()})
        first = ops.record_assessment(case, template, submission, assessor=assessor)
        ops.record_assessment(case, template, submission, assessor=assessor, supersedes=first)
        db.session.commit()
        with patch.object(ops, "already_corrected", return_value=False), pytest.raises(ConflictError):
            ops.record_assessment(case, template, submission, assessor=assessor, supersedes=first)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Assessment)
                                 .where(Assessment.supersedes_id == first.id)) == 1


def test_two_people_editing_the_survivor_get_a_conflict_not_an_overwrite(app, client, auth, people, make):
    reference = make.case(people["idva"], survivor=("Maya", "Ross", None))
    auth.login("idva@example.org")
    form_page = client.get(f"/cases/{reference}/survivor").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form_page).group(1)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', form_page).group(1)
    base = {"csrf_token": token, "survivor_given_name": "Maya", "survivor_date_of_birth": ""}
    first = client.post(f"/cases/{reference}/survivor", data={**base, "version": version,
                                                              "survivor_family_name": "Ross-Hill"})
    assert first.status_code == 302
    second = client.post(f"/cases/{reference}/survivor", data={**base, "version": version,
                                                               "survivor_family_name": "Rossi"})
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "Someone else changed this record" in html and 'value="Rossi"' in html
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        assert case.survivor.family_name == "Ross-Hill"


def test_the_case_page_offers_only_agencies_not_yet_involved_and_refuses_the_others(app, client, auth, people,
                                                                                    make):
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("idva@example.org")
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    offered = re.search(r'<select[^>]*name="agency".*?</select>', page, re.S)
    assert offered and f'value="{people["police_agency"]}"' in offered.group(0)
    assert f'value="{people["programme_agency"]}"' not in offered.group(0)
    already = post_form(client, f"/cases/{reference}/agencies", {"agency": str(people["programme_agency"])},
                        page=f"/cases/{reference}", follow_redirects=True)
    assert already.status_code == 200 and f"Change Programme is already involved in {reference}." in already.get_data(
        as_text=True)
    refused = post_form(client, f"/cases/{reference}/agencies", {"agency": "not-an-agency"}, page=f"/cases/{reference}")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "<title>Error: Involve another agency" in html
    assert 'href="#agency">Choose an agency to involve</a>' in html and 'id="agency-error"' in html
    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.reference == reference)).one()
        assert set(case.agency_ids) == {people["idva_agency"], people["programme_agency"]}


def test_agency_outside_the_case_learns_only_that_it_exists(app, client, auth, people, make):
    reference = make.case(people["idva"], survivor=("Secret", "Name", None))
    auth.login("police@example.org")
    response = client.get(f"/cases/{reference}")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Riverside IDVA" in html and "Secret" not in html
    with app.app_context():
        denied = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.outcome == "denied")).all()
        assert [e.case_ref for e in denied] == [reference]


def test_emergency_access_is_time_limited_reasoned_and_logged(app, client, auth, people, make):
    reference = make.case(people["idva"], survivor=("Grace", "Hope", None))
    auth.login("police@example.org")
    short = post_form(client, f"/cases/{reference}/emergency-access", {"reason": "urgent"})
    assert short.status_code == 400
    assert count(app, EmergencyAccess) == 0
    response = post_form(client, f"/cases/{reference}/emergency-access",
                         {"reason": "Officers at the address now; need the safety plan and contacts"})
    assert response.status_code == 302
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Grace Hope" in page
    with app.app_context():
        view = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "case.view")).one()
        assert view.purpose == "emergency access"
        # The form names the agencies holding the case: each time it was shown is on record.
        shown = db.session.scalars(select(AccessLogEntry).where(
            AccessLogEntry.action == "case.emergency_access.form")).all()
        assert [(e.case_ref, e.user_id, e.outcome) for e in shown] == [(reference, people["police"], "allowed")] * 3
        grant = db.session.scalars(select(EmergencyAccess)).one()
        grant.expires_at = grant.expires_at - timedelta(days=1)
        db.session.commit()
    assert client.get(f"/cases/{reference}").status_code == 403


@pytest.mark.parametrize("name", ["Ólafur Þórsson", "Мария Иванова", "李 小龍", "Siân D'Arcy-Smith", "Nguyễn Thị"])
def test_unicode_names_round_trip_and_match(app, client, auth, people, name):
    given, family = name.split(" ", 1)
    auth.login("idva@example.org")
    response = post_form(client, "/cases/new", new_case_form(survivor_given_name=given, survivor_family_name=family))
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        assert case.survivor.given_name == given and case.survivor.family_name == family
    again = post_form(client, "/cases/new", new_case_form(survivor_given_name=given.upper(),
                                                          survivor_family_name=family.lower()))
    assert reference in again.get_data(as_text=True)


def test_the_case_list_comes_a_page_at_a_time_newest_first(app, client, auth, people, make, monkeypatch):
    """Big agencies see their cases in pages with previous and next links; odd page numbers do no harm."""
    monkeypatch.setattr(access, "CASES_PER_PAGE", 2)
    references = [make.case(people["idva"], survivor=(f"Survivor{n}", "Example", None)) for n in range(5)]
    auth.login("idva@example.org")

    first = client.get("/cases/").get_data(as_text=True)
    assert "Cases 1 to 2 of 5, newest first." in first and "Page 1 of 3" in first
    assert references[4] in first and references[3] in first and references[2] not in first
    assert 'href="/cases/?page=2"' in first and "Previous page" not in first

    last = client.get("/cases/?page=3").get_data(as_text=True)
    assert "Cases 5 to 5 of 5" in last and references[0] in last and references[1] not in last
    assert "Next page" not in last and 'href="/cases/?page=2"' in last

    for odd in ("0", "-1", "abc", "99999999999999999999", "²", "1.5"):
        response = client.get(f"/cases/?page={odd}")
        assert response.status_code == 200
    assert references[0] in client.get("/cases/?page=99").get_data(as_text=True)  # past the end: the last page


def test_the_case_page_says_when_a_reassessment_is_due_and_why(app, client, auth, people, make):
    """Due with no survivor-side assessment, after the configured interval, and after a new incident."""
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    with app.app_context():  # the case was opened half a year ago
        case = db.session.scalars(select(Case).where(Case.reference == reference)).one()
        case.created_at -= timedelta(days=200)
        db.session.commit()
    auth.login("idva@example.org")
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Reassessment due: No survivor-side assessment has been recorded yet." in page

    long_ago = (date.today() - timedelta(days=app.config["REASSESS_AFTER_DAYS"] + 1)).isoformat()
    assert post_form(client, f"/cases/{reference}/assessments/new/survivor",
                     {"assessed_on": long_ago, **survivor_answers(5)}).status_code == 302
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert f"Reassessment due: The last survivor-side assessment is more than " \
           f"{app.config['REASSESS_AFTER_DAYS']} days old." in page

    recent = (date.today() - timedelta(days=10)).isoformat()
    assert post_form(client, f"/cases/{reference}/assessments/new/survivor",
                     {"assessed_on": recent, **survivor_answers(5)}).status_code == 302
    assert "Reassessment due" not in client.get(f"/cases/{reference}").get_data(as_text=True)

    auth.logout()
    auth.login("programme@example.org")
    assert post_form(client, f"/cases/{reference}/events/new",
                     {"kind": "disclosure", "occurred_on": TODAY, "note": "Said he knows the new address"}
                     ).status_code == 302
    auth.logout()
    auth.login("idva@example.org")
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Reassessment due: A new incident was recorded after the last survivor-side assessment." in page


def test_a_status_change_made_meanwhile_is_not_silently_undone(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert hidden_value(page, "shown") == "open"
    token = csrf_token(page)
    url = f"/cases/{reference}/status"
    # Two pages shown while the case was open: the first closes it, the second (stale) would reopen it.
    assert client.post(url, data={"csrf_token": token, "shown": "open", "status": "closed"}).status_code == 302
    stale = client.post(url, data={"csrf_token": token, "shown": "open", "status": "under_review"},
                        follow_redirects=True)
    assert "Someone else changed this case&#39;s status to closed since your page was shown" in stale.get_data(
        as_text=True)
    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.status.value == "closed"
        assert [c.status.value for c in case.status_history] == ["open", "closed"]
    # From a page showing the current status, the change is made.
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert hidden_value(page, "shown") == "closed"
    post_form(client, url, {"status": "open"}, page=f"/cases/{reference}", hidden=("shown",))
    with app.app_context():
        assert db.session.scalars(select(Case).where(Case.reference == reference)).one().status.value == "open"


def test_a_referred_case_is_not_reopened_by_pressing_change_status_unchanged(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    assert post_form(client, f"/cases/{reference}/refer", {"reasons": "professional_judgement", "consent": "given"},
                     hidden=("shown",)).status_code == 302
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert re.search(r'<option selected value="">Choose a new status</option>', page)
    unchanged = post_form(client, f"/cases/{reference}/status", {"status": ""}, page=f"/cases/{reference}",
                          hidden=("shown",))
    html = unchanged.get_data(as_text=True)
    assert unchanged.status_code == 400 and 'href="#status">Choose a new status from the list</a>' in html
    assert f"<h1>Change the status of {reference}</h1>" in html
    assert 'name="shown" type="hidden" value="referred"' in html
    with app.app_context():
        assert db.session.scalars(select(Case).where(Case.reference == reference)).one().status.value == "referred"
