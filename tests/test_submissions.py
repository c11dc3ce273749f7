"""A form that creates something is acted on once: a double click or a resubmission from the
browser's history saves nothing twice, and says the first submission was saved."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select

from riskhub.extensions import db
from riskhub.models.assessments import Assessment
from riskhub.models.cases import Case, CaseNote, EmergencyAccess, Person
from riskhub.models.events import ProgrammeEvent
from riskhub.models.meetings import Meeting, SafetyAction
from riskhub.models.sharing import SharingRecord
from tests.conftest import csrf_token
from tests.test_cases import new_case_form, survivor_answers
from tests.test_meetings import SOON, start_and_confirm, world

TODAY = date.today().isoformat()
_TOKEN = re.compile(r'name="submission"[^>]*?value="([^"]+)"')


def form_fields(client: Any, url: str) -> dict[str, str]:
    """The hidden fields a browser would send with the form on `url`."""
    html = client.get(url).get_data(as_text=True)
    token = _TOKEN.search(html)
    assert token, f"{url} has no once-only token"
    return {"csrf_token": csrf_token(html), "submission": token.group(1)}


def count(app: Any, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_sharing_record_posted_twice_is_saved_once(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    url = f"/cases/{reference}/sharing/new"
    data = {**form_fields(client, url), "decision": "shared", "with_agency": str(people["police_agency"]),
            "decided_on": TODAY, "legal_basis": "safeguarding", "consent": "given",
            "information": "Bail conditions", "reason": "Her safety"}
    first = client.post(url, data=data)
    second = client.post(url, data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert count(app, SharingRecord) == 1
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "This form was already submitted and saved: it has not been saved a second time." in page


def test_a_programme_event_posted_twice_is_recorded_once(app, client, auth, people, make):
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    url = f"/cases/{reference}/events/new"
    data = {**form_fields(client, url), "kind": "disclosure", "occurred_on": TODAY, "note": "New threat"}
    assert client.post(url, data=data).status_code == 302
    assert client.post(url, data=data).status_code == 302
    assert count(app, ProgrammeEvent) == 1
    # A new form is a new submission.
    data = {**form_fields(client, url), "kind": "missed_session", "occurred_on": TODAY, "note": ""}
    assert client.post(url, data=data).status_code == 302
    assert count(app, ProgrammeEvent) == 2


def test_a_refused_submission_can_be_corrected_and_saved(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    url = f"/cases/{reference}/sharing/new"
    data = {**form_fields(client, url), "decision": "shared", "with_agency": str(people["police_agency"]),
            "decided_on": TODAY, "legal_basis": "safeguarding", "consent": "given",
            "information": "Bail conditions", "reason": ""}
    refused = client.post(url, data=data)
    assert refused.status_code == 400
    assert _TOKEN.search(refused.get_data(as_text=True)).group(1) == data["submission"]  # the same form
    assert client.post(url, data={**data, "reason": "Her safety"}).status_code == 302
    assert count(app, SharingRecord) == 1


def posted_twice(client: Any, url: str, data: dict[str, str], page: str | None = None) -> tuple[Any, Any]:
    """Post the form on `page` (or `url`) twice with the same token, as a double click does."""
    fields = {**form_fields(client, page or url), **data}
    return client.post(url, data=fields), client.post(url, data=fields)


def test_a_case_posted_twice_is_created_once_and_the_second_post_leads_to_it(app, client, auth, people):
    auth.login("idva@example.org")
    first, second = posted_twice(client, "/cases/new", new_case_form())
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]  # to the case, not a duplicate warning
    assert count(app, Case) == 1
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "it has not been saved a second time" in page


def test_a_note_and_a_child_posted_twice_are_added_once(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    first, second = posted_twice(client, f"/cases/{reference}/notes", {"text": "Moved to her sister's"},
                                 page=f"/cases/{reference}")
    assert first.status_code == second.status_code == 302
    assert count(app, CaseNote) == 1
    first, second = posted_twice(client, f"/cases/{reference}/children/new",
                                 {"given_name": "Kit", "family_name": "", "age": "6", "in_household": "y"})
    assert first.status_code == second.status_code == 302
    assert count(app, Person) == 3  # survivor, perpetrator and one child


def test_an_assessment_posted_twice_is_recorded_once(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    first, second = posted_twice(client, f"/cases/{reference}/assessments/new/survivor",
                                 {"assessed_on": TODAY, **survivor_answers(15)})
    assert first.status_code == second.status_code == 302
    assert count(app, Assessment) == 1


def test_a_meeting_and_an_action_posted_twice_are_saved_once(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    assert count(app, Meeting) == 1
    data = {"date": SOON.isoformat(), "time": "14:00", "duration": "60", "venue": "Civic Centre, Room 4",
            "agencies": [str(people["police_agency"])], "repeat": "none", "occurrences": "1", "slot_minutes": "12"}
    first, second = posted_twice(client, "/meetings/new", data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert count(app, Meeting) == 2

    meeting = w["meeting"]
    item = start_and_confirm(app, client, w)
    first, second = posted_twice(client, f"/meetings/{meeting}/run/{item}/actions", {
        "description": "Fit window alarms", "deadline": SOON.isoformat(),
        "owner_agency": str(people["idva_agency"]), "owner_user": str(people["idva"])},
        page=f"/meetings/{meeting}/run?item={item}")
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert count(app, SafetyAction) == 1


def test_an_emergency_access_request_posted_twice_grants_once(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("police@example.org")
    first, second = posted_twice(client, f"/cases/{reference}/emergency-access",
                                 {"reason": "Officers at the address now; need the safety plan and contacts"})
    assert first.status_code == second.status_code == 302
    assert count(app, EmergencyAccess) == 1  # one grant for an auditor to review, not two


def test_an_apology_or_a_protocol_posted_twice_is_recorded_once(app, client, auth, people, make):
    from riskhub.models.meetings import Attendance
    from riskhub.models.partnerships import Protocol
    from tests.test_partnerships import protocol_form

    w = world(app, client, auth, people, make)  # signed in as the chair
    first, second = posted_twice(client, f"/meetings/{w['meeting']}/attendance", {
        "kind": "apology", "agency": str(people["police_agency"]), "name": "Sam Officer"})
    assert first.status_code == second.status_code == 302
    assert count(app, Attendance) == 1
    auth.logout()
    auth.login("admin@example.org")
    protocols = count(app, Protocol)
    first, second = posted_twice(client, "/protocols/new", protocol_form(people))
    assert first.status_code == second.status_code == 302
    assert count(app, Protocol) == protocols + 1
