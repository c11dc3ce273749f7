"""Whatever a user types or sends, the answer is never a 500: a wrong or missing field re-shows the
form (400) with the problem named at the top and beside the field, and what was typed is kept."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from riskhub.extensions import db
from riskhub.models.accounts import Agency
from riskhub.models.cases import Case, CaseNote, EmergencyAccess, PersonRole
from riskhub.models.meetings import Meeting, SafetyAction
from riskhub.models.sharing import SharingRecord
from tests.conftest import PASSWORD, csrf_token, post_form
from tests.test_meetings import SOON, schedule, start_and_confirm, world

SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Errors are handled as in production, so a crash shows as a 500 rather than raising."""
    return {"PROPAGATE_EXCEPTIONS": False}


def errors_on(html: str) -> list[str]:
    """The fields the error summary links to."""
    summary = html.split('class="error-summary__list"', 1)[1].split("</ul>", 1)[0] if "error-summary" in html else ""
    return re.findall(r'href="#([^"]+)"', summary)


# Versions, cursors and page numbers -----------------------------------------------------------


def test_a_version_that_is_not_a_plain_number_is_treated_as_out_of_date(app: Flask, client: FlaskClient, auth: Any,
                                                                         people: dict[str, Any], make: Any) -> None:
    reference = make.case(people["idva"], survivor=("Maya", "Ross", None))
    auth.login("idva@example.org")
    response = post_form(client, f"/cases/{reference}/survivor", {
        "survivor_given_name": "Maya", "survivor_family_name": "Rossi", "version": SUPERSCRIPT_TWO})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this record" in html and 'value="Rossi"' in html
    with app.app_context():
        assert db.session.scalar(select(Case).where(Case.reference == reference)).survivor.family_name == "Ross"


def test_minutes_and_action_updates_with_a_malformed_version_are_refused_not_crashed(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, Any], make: Any) -> None:
    w = world(app, client, auth, people, make)
    meeting = w["meeting"]
    item_id = start_and_confirm(app, client, w)
    url = f"/meetings/{meeting}/run?item={item_id}"
    save = f"/meetings/{meeting}/run/{item_id}/minutes"
    minutes = {"minutes": "Typed by the chair", "decisions": "", "informs_survivor": "", "version": "1\u0663"}
    stale = post_form(client, save, minutes, page=url)
    assert stale.status_code == 409 and "Typed by the chair" in stale.get_data(as_text=True)
    autosave = client.post(save, data={**minutes, "version": SUPERSCRIPT_TWO,
                                       "csrf_token": csrf_token(client.get(url).get_data(as_text=True))},
                           headers={"Accept": "application/json"})
    assert autosave.status_code == 409 and autosave.get_json()["conflict"] is True

    post_form(client, f"/meetings/{meeting}/run/{item_id}/actions", {
        "description": "Fit window alarms", "deadline": SOON.isoformat(),
        "owner_agency": str(people["police_agency"]), "owner_user": str(people["police"])}, page=url)
    auth.logout()
    auth.login("police@example.org")
    with app.app_context():
        action_id = db.session.scalars(select(SafetyAction.id)).one()
    response = post_form(client, f"/actions/{action_id}", {"status": "done", "note": "Alarms fitted",
                                                          "version": SUPERSCRIPT_TWO})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Someone else changed this record" in html and "Alarms fitted" in html
    with app.app_context():
        assert db.session.get(SafetyAction, action_id).status.value == "open"


@pytest.mark.parametrize("cursor", [SUPERSCRIPT_TWO, "1\u0663", "9" * 5000])
def test_a_paging_cursor_in_other_digits_is_a_400(client: FlaskClient, auth: Any, people: dict[str, Any],
                                                  cursor: str) -> None:
    auth.login("auditor@example.org")
    assert client.get("/audit/search", query_string={"before": cursor}).status_code == 400
    assert client.get("/audit/reviews/denied", query_string={"before": cursor}).status_code == 400


@pytest.mark.parametrize("page", [SUPERSCRIPT_TWO, "9" * 5000, "0", "-1"])
def test_a_page_number_that_is_not_plain_shows_the_first_page(client: FlaskClient, auth: Any,
                                                              people: dict[str, Any], page: str) -> None:
    auth.login("idva@example.org")
    response = client.get("/cases/", query_string={"page": page})
    assert response.status_code == 200



# Case notes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    (" \r\n\t ", "Enter the note"),
    ("She called at 9. " * 236, "Note must be 4000 characters or fewer"),  # 4012 characters
])
def test_a_refused_note_is_shown_again_with_the_problem_and_the_text(app: Flask, client: FlaskClient, auth: Any,
                                                                     people: dict[str, Any], make: Any, text: str,
                                                                     message: str) -> None:
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    response = post_form(client, f"/cases/{reference}/notes", {"text": text, "confidential": "y"},
                         page=f"/cases/{reference}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_on(html) == ["text"] and 'id="text-error"' in html and message in html
    assert text.strip() in unescape(html) and re.search(r'<input checked[^>]*name="confidential"', html)
    with app.app_context():
        assert db.session.scalars(select(CaseNote)).all() == []
    again = client.post(f"/cases/{reference}/notes", data={"text": "She called at 9.", "confidential": "y",
                                                           "csrf_token": csrf_token(html)})
    assert again.status_code == 302


# Text of only spaces --------------------------------------------------------------------------


def test_a_survivor_first_name_of_only_spaces_is_asked_for_again(app: Flask, client: FlaskClient, auth: Any,
                                                                 people: dict[str, Any]) -> None:
    auth.login("idva@example.org")
    response = post_form(client, "/cases/new", {
        "survivor_given_name": "   ", "survivor_family_name": "Lopez",
        "perpetrator_given_name": "Bob", "perpetrator_family_name": "Example"})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert errors_on(html) == ["survivor_given_name"] and "Enter the survivor's first name" in html
    assert 'value="Lopez"' in html
    with app.app_context():
        assert db.session.scalars(select(Case)).all() == []


def test_a_child_first_name_of_only_spaces_is_asked_for_again(app: Flask, client: FlaskClient, auth: Any,
                                                              people: dict[str, Any], make: Any) -> None:
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    response = post_form(client, f"/cases/{reference}/children/new",
                         {"given_name": " \t ", "family_name": "Example", "age": "6"})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert errors_on(html) == ["given_name"] and "Enter the child's first name" in html and 'value="6"' in html
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        assert case.people_in_role(PersonRole.CHILD) == []


def test_an_emergency_review_note_of_only_spaces_is_refused(app: Flask, client: FlaskClient, auth: Any,
                                                           people: dict[str, Any], make: Any) -> None:
    reference = make.case(people["idva"])
    auth.login("police@example.org")
    post_form(client, f"/cases/{reference}/emergency-access",
              {"reason": "Police attended a report of a threat to kill at the address tonight"})
    auth.logout()
    auth.login("auditor@example.org")
    with app.app_context():
        grant_id = db.session.scalars(select(EmergencyAccess.id)).one()
    response = post_form(client, f"/audit/reviews/emergency/{grant_id}", {"outcome": "justified", "note": " " * 12})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_on(html) == ["note"] and "Explain your decision" in html
    with app.app_context():
        assert db.session.get(EmergencyAccess, grant_id).reviewed_at is None


# Control characters (PostgreSQL cannot store NUL) ---------------------------------------------


@pytest.mark.parametrize("name", ["Bad\x00Agency", "Bad\x07Agency", "Bad\x1bAgency"])
def test_an_agency_name_with_a_control_character_is_asked_for_again(app: Flask, client: FlaskClient, auth: Any,
                                                                    people: dict[str, Any], name: str) -> None:
    auth.login("admin@example.org")
    response = post_form(client, "/admin/agencies/new", {"name": name, "kind": "housing"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_on(html) == ["name"] and "contains an invisible control character" in html
    with app.app_context():
        assert db.session.scalar(select(Agency).where(Agency.kind == "housing")) is None


def test_a_meeting_venue_with_a_nul_is_asked_for_again(app: Flask, client: FlaskClient, auth: Any,
                                                       people: dict[str, Any]) -> None:
    auth.login("chair@example.org")
    response = schedule(client, [people["idva_agency"]], venue="Civic\x00Centre")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_on(html) == ["venue"] and "Venue contains an invisible control character" in html
    with app.app_context():
        assert db.session.scalars(select(Meeting)).all() == []


def test_tabs_and_line_breaks_in_a_note_are_kept(app: Flask, client: FlaskClient, auth: Any,
                                                 people: dict[str, Any], make: Any) -> None:
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    response = post_form(client, f"/cases/{reference}/notes", {"text": "Called her.\r\n\tNo answer."},
                         page=f"/cases/{reference}")
    assert response.status_code == 302


@pytest.mark.parametrize("url", ["/cases/RH%00", "/cases/RH%00/survivor", "/meetings/M%00", "/meetings/M%00/run"])
def test_a_reference_with_a_control_character_is_not_found(client: FlaskClient, auth: Any,
                                                           people: dict[str, Any], url: str) -> None:
    auth.login("chair@example.org")
    assert client.get(url).status_code == 404


# Choices of nothing but spaces, and links that are not links ---------------------------------


def test_a_choice_of_only_spaces_counts_as_not_chosen(app: Flask, client: FlaskClient, auth: Any,
                                                      people: dict[str, Any], make: Any) -> None:
    """An optional list answered with spaces is "not chosen": nothing of the spaces is stored, and
    where the choice is needed the form says so, rather than failing."""
    auth.login("idva@example.org")
    created = post_form(client, "/cases/new", {
        "survivor_given_name": "Ana", "survivor_family_name": "Lopez", "survivor_gender": " ",
        "survivor_disability": "\t", "perpetrator_given_name": "Bob", "perpetrator_family_name": "Example",
        "perpetrator_relationship": "  ", "perpetrator_weapons": " "})
    assert created.status_code == 302
    with app.app_context():
        case = db.session.scalars(select(Case)).one()
        profiles = {p.role: p.details for p in case.people}
        stored = [v for d in profiles.values() for v in (d or {}).values() if isinstance(v, str)]
        assert [v for v in stored if not v.strip()] == []  # no value of spaces or tabs kept
        assert (profiles[PersonRole.SURVIVOR] or {}).get("gender", "") == ""
        reference = case.reference
    sharing = post_form(client, f"/cases/{reference}/sharing/new", {
        "decision": "shared", "with_agency": str(people["programme_agency"]), "decided_on": "2026-01-05",
        "category": " ", "legal_basis": "safeguarding", "consent": "given", "information": "What was shared",
        "reason": "To keep her safe"})
    html = unescape(sharing.get_data(as_text=True))
    assert sharing.status_code == 400 and "Choose the kind of information shared" in html


def test_an_action_update_or_owner_of_only_spaces_is_not_chosen(app: Flask, client: FlaskClient, auth: Any,
                                                                 people: dict[str, Any], make: Any) -> None:
    w = world(app, client, auth, people, make)
    meeting = w["meeting"]
    item_id = start_and_confirm(app, client, w)
    url = f"/meetings/{meeting}/run?item={item_id}"
    agreed = post_form(client, f"/meetings/{meeting}/run/{item_id}/actions", {
        "description": "Fit window alarms", "deadline": SOON.isoformat(),
        "owner_agency": str(people["police_agency"]), "owner_user": " "}, page=url)
    assert agreed.status_code == 302
    with app.app_context():
        action = db.session.scalars(select(SafetyAction)).one()
        assert action.owner_user_id is None
        action_id, version = action.id, action.version
    auth.logout()
    auth.login("police@example.org")
    updated = post_form(client, f"/actions/{action_id}", {"status": "in_progress", "reason": " ", "note": "Booked",
                                                         "version": str(version)})
    assert updated.status_code == 302
    with app.app_context():
        action = db.session.get(SafetyAction, action_id)
        assert action.status.value == "in_progress" and action.not_done_reason is None


@pytest.mark.parametrize("target", ["http://[", "//[", "https://x]"])
def test_a_next_link_that_is_not_a_url_leads_to_the_dashboard(client: FlaskClient, auth: Any,
                                                               people: dict[str, Any], target: str) -> None:
    signed_in = post_form(client, f"/signin?next={target}", {"email": "idva@example.org",
                                                            "password": PASSWORD}, page="/signin")
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    kept = post_form(client, "/session/keep-alive", {"next": target}, page="/")
    assert kept.status_code == 302 and kept.headers["Location"] == "/"


def test_an_admin_edit_with_a_malformed_version_is_refused_not_crashed(app: Flask, client: FlaskClient, auth: Any,
                                                                        people: dict[str, Any]) -> None:
    auth.login("admin@example.org")
    agency = people["police_agency"]
    for version in (SUPERSCRIPT_TWO, "9" * 5000):
        edit = post_form(client, f"/admin/agencies/{agency}/edit", {"name": "Renamed Police", "kind": "police",
                                                                    "active": "y", "version": version})
        assert edit.status_code == 409 and 'value="Renamed Police"' in edit.get_data(as_text=True)
        roles = post_form(client, f"/admin/users/{people['police']}/roles", {"roles": "practitioner",
                                                                             "version": version},
                          page=f"/admin/users/{people['police']}")
        assert roles.status_code == 409
    with app.app_context():
        assert db.session.get(Agency, agency).name == "County Police"



# Dates from another millennium, and numbers that are not numbers ------------------------------


def test_dates_typed_far_out_of_range_are_asked_for_again(app: Flask, client: FlaskClient, auth: Any,
                                                          people: dict[str, Any], make: Any) -> None:
    """A year typed as 0001 or 9999 is named beside its field, and nothing is stored."""
    w = world(app, client, auth, people, make)  # signed in as the chair
    apology = post_form(client, f"/meetings/{w['meeting']}/attendance", {
        "kind": "apology", "agency": str(people["police_agency"]), "name": "Sam Officer",
        "info_sent_on": "9999-12-31"})
    html = unescape(apology.get_data(as_text=True))
    assert apology.status_code == 400 and errors_on(html) == ["info_sent_on"]
    assert "date their information was sent (if it was) must be between" in html
    auth.logout()
    auth.login("idva@example.org")
    sharing = post_form(client, f"/cases/{w['adult']}/sharing/new", {
        "decision": "shared", "with_agency": str(people["police_agency"]), "decided_on": "0001-01-01",
        "legal_basis": "safeguarding", "consent": "given", "information": "What was shared",
        "reason": "To keep her safe"})
    html = unescape(sharing.get_data(as_text=True))
    assert sharing.status_code == 400 and errors_on(html) == ["decided_on"]
    assert "Date of the decision must be between" in html and "What was shared" in html
    with app.app_context():
        meeting = db.session.scalars(select(Meeting).where(Meeting.reference == w["meeting"])).one()
        assert meeting.attendance == []
        assert db.session.scalar(select(func.count()).select_from(SharingRecord)) == 0


def test_a_number_that_is_not_one_gets_one_message(client: FlaskClient, auth: Any, people: dict[str, Any]) -> None:
    auth.login("chair@example.org")
    response = schedule(client, [people["police_agency"]], slot_minutes=SUPERSCRIPT_TWO, duration="12a")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and errors_on(html) == ["duration", "slot_minutes"]
    assert "Minutes per case must be a whole number, like 12" in html
    assert "Not a valid integer value" not in html and "5 to 60 minutes per case" not in html


def test_a_number_of_only_spaces_is_asked_for_once(client: FlaskClient, auth: Any, people: dict[str, Any]) -> None:
    auth.login("chair@example.org")
    response = schedule(client, [people["police_agency"]], slot_minutes="   ")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and errors_on(html) == ["slot_minutes"]
    assert "Enter the minutes per case" in html and "whole number" not in html and "5 to 60" not in html


# Bodies no page sends ------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["1", '"ab"', '{"email": 1, "password": "x"}', "[[1, 2, 3]]"])
def test_a_json_body_is_not_read_as_a_form(client: FlaskClient, people: dict[str, Any], body: str) -> None:
    """Sign-in (open to anyone) sent JSON instead of form fields: the form is missing, not a crash."""
    token = csrf_token(client.get("/signin").get_data(as_text=True))
    response = client.post("/signin", data=body, content_type="application/json", headers={"X-CSRFToken": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Enter your email address" in page, page[:300]


def test_a_file_part_is_not_read_as_a_field(app: Flask, client: FlaskClient, auth: Any,
                                            people: dict[str, Any]) -> None:
    import io

    auth.login("admin@example.org")
    token = csrf_token(client.get("/admin/agencies/new").get_data(as_text=True))
    response = client.post("/admin/agencies/new", data={
        "csrf_token": token, "kind": "police", "name": (io.BytesIO(b"Upload Agency"), "name.txt")},
        content_type="multipart/form-data")
    assert response.status_code == 400 and "name" in errors_on(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agency).where(Agency.name == "Upload Agency")) == 0


def test_minutes_sent_as_json_are_refused_not_crashed(app: Flask, client: FlaskClient, auth: Any,
                                                      people: dict[str, Any], make: Any) -> None:
    w = world(app, client, auth, people, make)
    item = start_and_confirm(app, client, w)
    run = f"/meetings/{w['meeting']}/run?item={item}"
    token = csrf_token(client.get(run).get_data(as_text=True))
    response = client.post(f"/meetings/{w['meeting']}/run/{item}/minutes", data='{"minutes": {"a": 1}}',
                           content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code in (400, 409), response.status_code
