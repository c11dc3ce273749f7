"""Partnerships, protocols that information must flow along, and partner contact."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy import func, select

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from riskhub.models.cases import Case
from riskhub.models.events import ProgrammeEvent
from riskhub.models.partnerships import (
    Category,
    FlowDirection,
    PartnerContactTask,
    Partnership,
    Protocol,
    RiskNotice,
)
from tests.conftest import csrf_token, post_form

TODAY = date.today()


def count(app: Any, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def partnership_form(people: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"name": "Change and Riverside", "programme_agency": str(people["programme_agency"]),
            "services": [str(people["idva_agency"])], "model": "external", "max_days_to_offer": "5",
            "programme_contact": "Pat Facilitator", "contacts_partner": "Riverside IDVA partner worker",
            **overrides}


def protocol_form(people: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"title": "Programme information to survivor services",
            "parties": [str(people["idva_agency"]), str(people["programme_agency"])],
            "effective_from": (TODAY - timedelta(days=1)).isoformat(),
            "review_on": (TODAY + timedelta(days=365)).isoformat(), "legal_basis": "safeguarding",
            "flows": ["attendance|to_survivor_side", "risk_events|to_survivor_side"], **overrides}


def test_admin_sets_up_a_partnership_and_bad_input_is_refused(app, client, auth, people):
    auth.login("admin@example.org")
    missing = post_form(client, "/partnerships/new", partnership_form(people, services=[]))
    assert missing.status_code == 400
    assert "needs at least one survivor support service" in missing.get_data(as_text=True)
    assert count(app, Partnership) == 0
    response = post_form(client, "/partnerships/new", partnership_form(people))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "External specialist service" in page and "within</dt><dd>5 days" in page.replace("\n", "")
    assert "Riverside IDVA partner worker" in page


def test_protocol_dates_and_survivor_data_direction_are_checked(app, client, auth, people):
    auth.login("admin@example.org")
    before = count(app, Protocol)
    reversed_dates = post_form(client, "/protocols/new", protocol_form(
        people, review_on=(TODAY - timedelta(days=5)).isoformat()))
    assert reversed_dates.status_code == 400
    assert "review date must be after" in reversed_dates.get_data(as_text=True)
    leak = post_form(client, "/protocols/new", protocol_form(
        people, flows=["survivor_contact|to_survivor_side", "survivor_contact|to_programme"]))
    assert leak.status_code == 400
    assert "Survivor data can never flow to the programme" in leak.get_data(as_text=True)
    far = post_form(client, "/protocols/new", protocol_form(people, effective_from="0001-01-01",
                                                             review_on="9999-12-31"))
    html = far.get_data(as_text=True)
    assert far.status_code == 400
    assert "Takes effect on must be between" in html and "Review by must be between" in html
    assert count(app, Protocol) == before
    assert post_form(client, "/protocols/new", protocol_form(people)).status_code == 302
    assert count(app, Protocol) == before + 1


def test_a_new_version_sent_twice_is_refused_the_second_time(app, client, auth, people):
    """The same new version posted twice records one version; the second answers 409, says a
    newer version already exists, and stores nothing."""
    auth.login("admin@example.org")
    old = people["protocol"]
    url = f"/protocols/new?supersedes={old}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    data = {**protocol_form(people, title="Programme and survivor services, revised"), "supersedes": str(old),
            "csrf_token": token}
    assert client.post(url, data=data).status_code == 302
    again = client.post(url, data=data)
    assert again.status_code == 409
    assert "A newer version of this protocol has already been recorded" in again.get_data(as_text=True)
    with app.app_context():
        replacing = db.session.scalars(select(Protocol).where(Protocol.supersedes_id == old)).all()
        assert [(p.version_number, p.title) for p in replacing] == [(2, "Programme and survivor services, revised")]
    assert count(app, Protocol) == 2


def test_the_database_refuses_a_second_new_version_of_the_same_protocol(app, people):
    """Two requests passing the check at the same moment: the unique index lets one through and
    the operation refuses the other cleanly."""
    from riskhub.operations import ConflictError
    from riskhub.operations import partnerships as ops

    plan = ops.ProtocolPlan(title="Revised", party_agency_ids=frozenset({people["idva_agency"],
                                                                         people["programme_agency"]}),
                            effective_from=TODAY, review_on=TODAY + timedelta(days=300), legal_basis="safeguarding",
                            flows=frozenset({(Category.ATTENDANCE, FlowDirection.TO_SURVIVOR_SIDE)}))
    with app.test_request_context():
        old = db.session.get(Protocol, people["protocol"])
        ops.create_protocol(plan, by=None, supersedes=old)
        db.session.commit()
        with patch.object(ops, "already_superseded", return_value=False), pytest.raises(ConflictError):
            ops.create_protocol(plan, by=None, supersedes=old)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Protocol)
                                 .where(Protocol.supersedes_id == old.id)) == 1


def record_event(client: Any, reference: str, kind: str, note: str = "") -> Any:
    return post_form(client, f"/cases/{reference}/events/new",
                     {"kind": kind, "occurred_on": TODAY.isoformat(), "note": note}, page=f"/cases/{reference}")


def test_events_flow_only_along_a_protocol_in_force(app, client, auth, people, make):
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    with app.app_context():  # the fixture's protocol is withdrawn by a newer version without risk events
        from riskhub.models.partnerships import Protocol as P

        old = db.session.get(P, people["protocol"])
        from riskhub.operations import partnerships

        partnerships.create_protocol(partnerships.ProtocolPlan(
            title=old.title, party_agency_ids=old.party_agency_ids, effective_from=TODAY, review_on=old.review_on,
            legal_basis="safeguarding", flows=frozenset({(f.category, f.direction) for f in old.flows
                                                         if f.category.value != "risk_events"}),
        ), by=None, supersedes=old)
        db.session.commit()
    auth.login("programme@example.org")
    refused = record_event(client, reference, "disclosure", "Said he would find her")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Not shared" in html and "Risk events" in html
    assert count(app, ProgrammeEvent) == 0
    with app.app_context():
        denied = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "protocol.refused")).one()
        assert denied.outcome == "denied" and denied.case_ref == reference
    assert record_event(client, reference, "attended").status_code == 302
    assert count(app, ProgrammeEvent) == 1


def test_protocols_in_force_follow_a_new_version_within_the_same_transaction(app, people):
    """The protocols in force are read once per transaction, but a version written in it counts at once."""
    from riskhub.models.partnerships import Category, FlowDirection
    from riskhub.operations import partnerships

    with app.app_context():
        old = db.session.get(Protocol, people["protocol"])
        programme, idva = people["programme_agency"], people["idva_agency"]
        risk, toward = Category.RISK_EVENTS, FlowDirection.TO_SURVIVOR_SIDE
        assert partnerships.allowing_protocol(programme, [idva], risk, toward) == old
        newer = partnerships.create_protocol(partnerships.ProtocolPlan(
            title=old.title, party_agency_ids=old.party_agency_ids, effective_from=TODAY, review_on=old.review_on,
            legal_basis="safeguarding", flows=frozenset({(f.category, f.direction) for f in old.flows
                                                         if f.category != risk}),
        ), by=None, supersedes=old)
        assert [p.id for p in partnerships.protocols_in_force()] == [newer.id]
        assert partnerships.allowing_protocol(programme, [idva], risk, toward) is None
        db.session.rollback()  # the new version was never committed: the old one is in force again
        assert [p.id for p in partnerships.protocols_in_force()] == [old.id]
        assert partnerships.allowing_protocol(programme, [idva], risk, toward) == old


def enrolled_case(client: Any, auth: Any, people: dict[str, Any], make: Any) -> str:
    """A case whose man the programme has enrolled under a partnership, signed in as the programme."""
    reference = make.case(people["police"], involve=(people["programme_agency"],))
    auth.login("admin@example.org")
    post_form(client, "/partnerships/new", partnership_form(people))
    auth.logout()
    auth.login("programme@example.org")
    assert record_event(client, reference, "enrolled").status_code == 302
    return reference


def test_enrolment_creates_partner_contact_and_the_programme_sees_only_whether_it_is_in_place(
        app, client, auth, people, make):
    reference = enrolled_case(client, auth, people, make)
    with app.app_context():
        task = db.session.scalars(select(PartnerContactTask)).one()
        assert task.agency_id == people["idva_agency"] and task.due_on == TODAY + timedelta(days=5)
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        assert people["idva_agency"] in case.agency_ids  # the partner service is now involved
        task_id = task.id
    # Only a protocol in force between the service and the programme lets the status through.
    assert "Partner contact:</strong> not shared with your agency" in client.get(f"/cases/{reference}").get_data(
        as_text=True)
    make.protocol((people["idva_agency"], people["programme_agency"]), title="Partner contact status",
                  flows=(("partner_contact_status", "to_programme"),))
    assert "Partner contact:</strong> not in place" in client.get(f"/cases/{reference}").get_data(as_text=True)
    assert client.get(f"/partner-contact/{task_id}").status_code == 403
    auth.logout()

    auth.login("idva@example.org")
    assert reference in client.get("/partner-contact").get_data(as_text=True)
    response = post_form(client, f"/partner-contact/{task_id}", {
        "outcome": "accepted", "on": TODAY.isoformat(), "support": "SENTINEL-SUPPORT-42",
        "safety_planning": "SENTINEL-PLAN-42"})
    assert response.status_code == 302
    auth.logout()

    auth.login("programme@example.org")
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Partner contact:</strong> in place" in page
    assert "SENTINEL-SUPPORT-42" not in page and "SENTINEL-PLAN-42" not in page
    assert record_event(client, reference, "missed_session", "Third missed session").status_code == 302
    auth.logout()

    auth.login("idva@example.org")
    tasks_page = client.get("/partner-contact").get_data(as_text=True)
    assert "Risk events to pass on" in tasks_page and "Missed a session" in tasks_page
    with app.app_context():
        notice_id = db.session.scalars(select(RiskNotice)).one().id
    missing = post_form(client, f"/partner-contact/notices/{notice_id}", {"informed": "no"},
                        page=f"/partner-contact/{task_id}", follow_redirects=True)
    assert "Say why the partner was not informed" in missing.get_data(as_text=True)
    post_form(client, f"/partner-contact/notices/{notice_id}", {"informed": "yes"}, page=f"/partner-contact/{task_id}")
    with app.app_context():
        assert db.session.get(RiskNotice, notice_id).partner_informed is True


def test_a_refused_answer_to_a_risk_notice_is_shown_again_with_what_was_typed(app, client, auth, people, make):
    """Too long a reason, or no yes/no: 400, the problem at the top and under that notice, the reason kept."""
    reference = enrolled_case(client, auth, people, make)
    record_event(client, reference, "missed_session", "Third missed session")
    auth.logout()
    auth.login("idva@example.org")
    with app.app_context():
        task_id = db.session.scalars(select(PartnerContactTask.id)).one()
        notice_id = db.session.scalars(select(RiskNotice.id)).one()
    url, page = f"/partner-contact/notices/{notice_id}", f"/partner-contact/{task_id}"
    long_reason = "She asked us not to call this week. " * 56  # 2016 characters
    too_long = post_form(client, url, {"informed": "no", "reason": long_reason}, page=page)
    html = too_long.get_data(as_text=True)
    assert too_long.status_code == 400
    assert f'<a href="#reason-{notice_id}">Reason must be 2000 characters or fewer</a>' in html
    assert f'id="reason-{notice_id}-error"' in html and long_reason.strip() in html
    assert f'id="informed-{notice_id}-1" name="informed" value="no" checked' in html
    unanswered = post_form(client, url, {"reason": "Could not reach her"}, page=page)
    html = unanswered.get_data(as_text=True)
    assert unanswered.status_code == 400
    assert f'<a href="#informed-{notice_id}-0">Say whether the partner was informed</a>' in html
    assert f'<input class="radio__input" type="radio" id="informed-{notice_id}-0"' in html  # where it leads
    assert ">Could not reach her</textarea>" in html
    with app.app_context():
        assert db.session.get(RiskNotice, notice_id).resolved_at is None


def test_health_page_and_csv_report_the_partnership(app, client, auth, people, make):
    auth.login("admin@example.org")
    post_form(client, "/partnerships/new", partnership_form(people))
    auth.logout()
    reference = make.case(people["police"], involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    record_event(client, reference, "enrolled")
    auth.logout()
    auth.login("idva@example.org")
    with app.app_context():
        task_id = db.session.scalars(select(PartnerContactTask)).one().id
    post_form(client, f"/partner-contact/{task_id}", {"outcome": "offered", "on": TODAY.isoformat()})
    with app.app_context():
        partnership_id = db.session.scalars(select(Partnership)).one().id
    page = client.get(f"/partnerships/{partnership_id}").get_data(as_text=True)
    assert "1 (100%)" in page and "median 0, worst 0" in page
    csv_text = client.get(f"/partnerships/{partnership_id}/health.csv").get_data(as_text=True)
    assert "median days from enrolment to first offer,0" in csv_text
    auth.logout()
    auth.login("programme@example.org")  # the programme: its own figures, none of partner contact's
    page = client.get(f"/partnerships/{partnership_id}").get_data(as_text=True)
    assert "Partner contact tasks</th><td>1</td>" in page and "Programme events shared" in page
    assert "Partners offered contact" not in page and "median 0" not in page and "1 (100%)" not in page
    assert "reported to the survivor services and the chairs only" in page
    csv_text = client.get(f"/partnerships/{partnership_id}/health.csv").get_data(as_text=True)
    assert "partner contact tasks,1" in csv_text and "programme events shared," in csv_text
    assert "offered" not in csv_text and "reached" not in csv_text and "first offer" not in csv_text
    auth.logout()
    other = make.agency("Other Service", "survivor_support")
    make.user("other@example.org", other)
    auth.login("other@example.org")
    assert client.get(f"/partnerships/{partnership_id}").status_code == 403


def test_protocols_past_review_are_flagged_to_admins_and_chairs(app, client, auth, people, make):
    make.protocol((people["idva_agency"], people["police_agency"]), title="Old police protocol",
                  effective_from=TODAY - timedelta(days=400), review_on=TODAY - timedelta(days=10))
    for email in ("admin@example.org", "chair@example.org"):
        auth.login(email)
        assert "Old police protocol" in client.get("/").get_data(as_text=True)
        auth.logout()
    auth.login("idva@example.org")
    assert "Old police protocol" not in client.get("/").get_data(as_text=True)


def sharing_form(people: dict[str, Any], with_agency: str, category: str) -> dict[str, Any]:
    return {"decision": "shared", "with_agency": str(people[with_agency]), "decided_on": TODAY.isoformat(),
            "category": category, "legal_basis": "safeguarding", "consent": "given",
            "information": "What was shared", "reason": "To keep her safe"}


def test_sharing_records_with_the_programme_follow_the_protocol(app, client, auth, people, make):
    from riskhub.models.sharing import SharingRecord

    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("idva@example.org")
    url = f"/cases/{reference}/sharing/new"
    missing = post_form(client, url, sharing_form(people, "programme_agency", ""))
    assert missing.status_code == 400 and "Choose the kind of information shared" in missing.get_data(as_text=True)
    to_programme = post_form(client, url, sharing_form(people, "programme_agency", "risk_level"))
    assert to_programme.status_code == 400 and "Not shared" in to_programme.get_data(as_text=True)
    survivor_data = post_form(client, url, sharing_form(people, "programme_agency", "survivor_contact"))
    assert survivor_data.status_code == 400
    assert count(app, SharingRecord) == 0
    with app.app_context():
        refusals = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "protocol.refused")).all()
        assert len(refusals) == 2 and all(r.outcome == "denied" for r in refusals)
    # Between agencies that are not the programme no category is needed.
    assert post_form(client, url, sharing_form(people, "police_agency", "")).status_code == 302
    auth.logout()
    auth.login("programme@example.org")
    assert post_form(client, url, sharing_form(people, "idva_agency", "non_compliance")).status_code == 302
    assert count(app, SharingRecord) == 2


def test_whether_partner_contact_is_in_place_follows_the_latest_attempt_by_date(app, client, auth, people, make):
    """An attempt from before, recorded after a later one (two workers, or an old page), does not
    undo it; the same attempt posted twice is recorded once."""
    from tests.test_submissions import posted_twice

    enrolled_case(client, auth, people, make)
    auth.logout()
    with app.app_context():
        task = db.session.scalars(select(PartnerContactTask)).one()
        task.enrolled_on = TODAY - timedelta(days=3)
        db.session.commit()
        task_id = task.id
    auth.login("idva@example.org")
    url = f"/partner-contact/{task_id}"
    first, second = posted_twice(client, url, {"outcome": "accepted", "on": TODAY.isoformat()})
    assert first.status_code == second.status_code == 302
    late = post_form(client, url, {"outcome": "declined", "on": (TODAY - timedelta(days=1)).isoformat()})
    assert late.status_code == 302
    with app.app_context():
        task = db.session.get(PartnerContactTask, task_id)
        assert sorted(a.outcome.value for a in task.attempts) == ["accepted", "declined"]
        assert task.in_place is True
    assert post_form(client, url, {"outcome": "unsafe", "on": TODAY.isoformat()}).status_code == 302
    with app.app_context():
        assert db.session.get(PartnerContactTask, task_id).in_place is False  # a later one does settle it
