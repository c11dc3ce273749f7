"""Administration pages: agencies, users, roles, password resets, deactivation, sessions, guards."""

from __future__ import annotations

import html
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from riskhub.extensions import db
from riskhub.models.accounts import Agency, AgencyKind, Role, User
from riskhub.models.audit import AccessLogEntry
from tests.conftest import PASSWORD, AuthActions, csrf_token, hidden_value, post_form

NEW_PASSWORD = "a-quite-different-passphrase-4"
NEW_USER: dict[str, Any] = {"name": "Priya Shah", "email": "priya.shah@example.org", "roles": ["practitioner", "chair"],
            "password": "another-long-passphrase-31"}


# Helpers ------------------------------------------------------------------------------------


@pytest.fixture
def admin(client: FlaskClient, auth: AuthActions, people: dict[str, Any]) -> FlaskClient:
    """The test client, signed in as the admin of County Police."""
    assert auth.login("admin@example.org").status_code == 302
    return client


def count(app: Flask, model: type) -> int:
    """How many rows a table holds."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def admin_log(app: Flask) -> list[tuple[str, uuid.UUID | None, str | None, str | None]]:
    """(action, who, object id, purpose) of every admin.* access-log entry, oldest first."""
    with app.app_context():
        entries = db.session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.action.like("admin.%")).order_by(AccessLogEntry.seq))
        return [(e.action, e.user_id, e.object_id, e.purpose) for e in entries]


def agency_named(app: Flask, name: str) -> Agency | None:
    with app.app_context():
        agency = db.session.scalar(select(Agency).where(Agency.name == name))
        if agency is not None:
            db.session.expunge(agency)
        return agency


def agency_active(app: Flask, name: str) -> bool | None:
    """Whether the agency of that name is active (None: there is none)."""
    agency = agency_named(app, name)
    return None if agency is None else agency.active


def stored_user(app: Flask, user_id: uuid.UUID) -> tuple[bool, frozenset[Role]]:
    """(active, roles) of a user as stored."""
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return user.active, user.roles


def signed_in_as(app: Flask, email: str, password: str = PASSWORD) -> FlaskClient:
    """Another browser, signed in as someone."""
    other = app.test_client()
    assert AuthActions(other).login(email, password).status_code == 302
    assert other.get("/").status_code == 200
    return other


def can_sign_in(app: Flask, email: str, password: str = PASSWORD) -> bool:
    """A fresh browser's sign-in with these credentials reaches the dashboard (or, with a password
    an admin set, the page to choose their own)."""
    other = app.test_client()
    response = AuthActions(other).login(email, password)
    home = other.get("/")
    return response.status_code == 302 and (home.status_code == 200 or home.headers["Location"] == "/account/password")


def sent_to_sign_in(client: FlaskClient) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/signin")


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def assert_form_error(response: Any, field_id: str, message: str) -> None:
    """400; the summary at the top links to the field; the message is shown beside the field too."""
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary, "no error summary"
    assert "There is a problem" in summary.group(0)
    assert page.index("error-summary") < page.index("<h1"), "the summary is not at the top"
    # A group of boxes or radios is linked by its first option, which takes the focus.
    link = re.search(rf'<a href="#({re.escape(field_id)}(?:-0)?)">([^<]*)</a>', summary.group(0))
    assert link, f"the summary does not link to #{field_id}"
    assert message in html.unescape(link.group(2))
    target = re.escape(link.group(1))
    assert re.search(rf'<(input|select|textarea)[^>]*id="{target}"', page), f"#{link.group(1)} leads to no field"
    beside = re.search(rf'<p class="error-message" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    assert beside and message in html.unescape(beside.group(1)), f"no message beside #{field_id}"
    assert re.search(rf'id="{re.escape(field_id)}"', page), f"nothing on the page has id {field_id}"
    assert "<title>Error: " in page


def user_form(people: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**NEW_USER, "agency": str(people["idva_agency"]), **changes}


# Agencies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(AgencyKind))
def test_admin_adds_an_agency_of_each_kind(app: Flask, admin: FlaskClient, people: dict[str, Any],
                                           kind: AgencyKind) -> None:
    """Adding an agency stores it, active, with its kind, lists it, and logs admin.agency.create."""
    response = post_form(admin, "/admin/agencies/new", {"name": "  Northgate   Services ", "kind": kind.value})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    agency = agency_named(app, "Northgate Services")
    assert agency is not None and agency.kind == kind and agency.active
    index = text(admin.get("/admin/"))
    assert "Agency Northgate Services added." in index
    form_page = admin.get("/admin/agencies/new").get_data(as_text=True)
    assert 'name="active"' not in form_page  # always active
    assert "use a name that does not say where it is" in form_page  # names are seen by every agency
    row = re.search(r"<td>Northgate Services</td>\s*<td>(.*?)</td>", index, re.S)
    assert row and row.group(1).startswith(kind.label)
    assert ("perpetrator-facing" in row.group(1)) == (kind == AgencyKind.PERPETRATOR_PROGRAMME)
    assert admin_log(app)[-1] == ("admin.agency.create", people["admin"], str(agency.id), None)


def test_admin_edits_an_agency(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """Renaming and reclassifying an agency is stored, shown and logged as admin.agency.update."""
    url = f"/admin/agencies/{people['idva_agency']}/edit"
    form = text(admin.get(url))
    assert 'value="Riverside IDVA"' in form
    assert re.search(r'<option selected value="survivor_support">|<option value="survivor_support" selected',
                     form), "the current kind is not pre-selected"
    response = post_form(admin, url, {"name": "Riverside Housing", "kind": "housing", "active": "y"},
                         hidden=("version",))
    assert response.status_code == 302
    agency = agency_named(app, "Riverside Housing")
    assert agency is not None and agency.id == people["idva_agency"]
    assert agency.kind == AgencyKind.HOUSING and agency.active
    assert agency_named(app, "Riverside IDVA") is None
    assert "Agency Riverside Housing updated." in text(admin.get("/admin/"))
    assert admin_log(app)[-1] == ("admin.agency.update", people["admin"], str(people["idva_agency"]), None)


def test_deactivating_an_agency_stops_its_staff_signing_in(app: Flask, admin: FlaskClient,
                                                           people: dict[str, Any]) -> None:
    """Unticking Active signs its staff out at once and refuses their sign-in; reactivating lets them back."""
    idva = signed_in_as(app, "idva@example.org")
    url = f"/admin/agencies/{people['idva_agency']}/edit"
    response = post_form(admin, url, {"name": "Riverside IDVA", "kind": "survivor_support"},  # Active unticked
                         hidden=("version",))
    assert response.status_code == 302
    assert agency_active(app, "Riverside IDVA") is False
    assert "Inactive" in text(admin.get("/admin/"))
    assert sent_to_sign_in(idva)
    assert not can_sign_in(app, "idva@example.org")
    assert can_sign_in(app, "programme@example.org")  # other agencies are untouched
    post_form(admin, url, {"name": "Riverside IDVA", "kind": "survivor_support", "active": "y"}, hidden=("version",))
    assert can_sign_in(app, "idva@example.org")
    assert [a for a, *_ in admin_log(app)].count("admin.agency.update") == 2


def test_new_users_cannot_join_an_inactive_agency(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """An inactive agency is not offered for new users and is refused if posted anyway."""
    assert post_form(admin, f"/admin/agencies/{people['idva_agency']}/edit", {
        "name": "Riverside IDVA", "kind": "survivor_support"}, hidden=("version",)).status_code == 302
    offered = text(admin.get("/admin/users/new"))
    assert ">County Police</option>" in offered and ">Riverside IDVA</option>" not in offered
    before = count(app, User)
    response = post_form(admin, "/admin/users/new", user_form(people))
    assert_form_error(response, "agency", "Agency: choose from the options shown on the page")
    assert count(app, User) == before


@pytest.mark.parametrize(("data", "field_id", "message"), [
    ({"name": "", "kind": "police"}, "name", "Enter the agency's name"),
    ({"name": "    ", "kind": "police"}, "name", "Enter the agency's name"),
    ({"name": "x" * 201, "kind": "police"}, "name", "Agency name must be 200 characters or fewer"),
    ({"name": "Valley Health"}, "kind", "Choose the kind of agency"),
    ({"name": "Valley Health", "kind": "secret_service"}, "kind", "Kind of agency: choose from the options shown"),
    ({"name": "riverside IDVA", "kind": "police"}, "name", "An agency with this name already exists"),
    ({"name": " RIVERSIDE   idva ", "kind": "police"}, "name", "An agency with this name already exists"),
])
def test_bad_agency_is_refused_and_nothing_stored(app: Flask, admin: FlaskClient, people: dict[str, Any],
                                                  data: dict[str, str], field_id: str, message: str) -> None:
    """Missing, blank, too long, unknown kind or duplicate name (any case): 400, errors linked, no row."""
    agencies, entries = count(app, Agency), len(admin_log(app))
    response = post_form(admin, "/admin/agencies/new", data)
    assert_form_error(response, field_id, message)
    assert count(app, Agency) == agencies
    assert len(admin_log(app)) == entries


def test_renaming_an_agency_to_another_agencys_name_is_refused(app: Flask, admin: FlaskClient,
                                                               people: dict[str, Any]) -> None:
    """Editing an agency to clash (ignoring case) with another keeps both as they were."""
    url = f"/admin/agencies/{people['idva_agency']}/edit"
    response = post_form(admin, url, {"name": "county POLICE", "kind": "survivor_support", "active": "y"},
                         hidden=("version",))
    assert_form_error(response, "name", "An agency with this name already exists")
    assert "Edit Riverside IDVA" in text(response)
    assert agency_named(app, "Riverside IDVA") is not None
    assert "admin.agency.update" not in [a for a, *_ in admin_log(app)]
    # Keeping its own name in another letter case is not a clash.
    assert post_form(admin, url, {"name": "RIVERSIDE IDVA", "kind": "survivor_support",
                                  "active": "y"}, hidden=("version",)).status_code == 302


def test_an_agency_on_cases_cannot_cross_between_survivor_and_perpetrator_side(
        app: Flask, admin: FlaskClient, people: dict[str, Any], make: Any) -> None:
    """Its staff's view of every case would change at once: refused, and nothing changes. Before it
    works on any case (a kind chosen wrongly at setup) the change is allowed."""
    make.case(people["idva"])  # the IDVA service now works on a case
    url = f"/admin/agencies/{people['idva_agency']}/edit"
    response = post_form(admin, url, {"name": "Riverside IDVA", "kind": "perpetrator_programme", "active": "y"},
                         hidden=("version",))
    assert_form_error(response, "kind", "cannot become or stop being a perpetrator programme")
    with app.app_context():
        assert db.session.get(Agency, people["idva_agency"]).kind == AgencyKind.SURVIVOR_SUPPORT
    # Between two kinds on the same side, or for an agency with no cases, the change goes through.
    assert post_form(admin, url, {"name": "Riverside IDVA", "kind": "housing", "active": "y"},
                     hidden=("version",)).status_code == 302
    fresh = make.agency("New Service", "survivor_support")
    assert post_form(admin, f"/admin/agencies/{fresh}/edit", {"name": "New Service", "kind": "perpetrator_programme",
                                                                "active": "y"}, hidden=("version",)).status_code == 302


@pytest.mark.parametrize("taken", ["ÉBÈNE Women's Centre", "ébène women's centre", "E\u0301be\u0300ne Women's Centre"])
def test_agency_names_differing_only_in_accented_letter_case_clash(app: Flask, admin: FlaskClient,
                                                                   people: dict[str, Any], taken: str) -> None:
    """Letter case outside ASCII counts as the same name too, on every database, when adding or renaming."""
    assert post_form(admin, "/admin/agencies/new", {"name": "Ébène Women's Centre", "kind": "survivor_support"}
                     ).status_code == 302
    agencies = count(app, Agency)
    assert_form_error(post_form(admin, "/admin/agencies/new", {"name": taken, "kind": "housing"}),
                      "name", "An agency with this name already exists")
    renamed = post_form(admin, f"/admin/agencies/{people['police_agency']}/edit",
                        {"name": taken, "kind": "police", "active": "y"}, hidden=("version",))
    assert_form_error(renamed, "name", "An agency with this name already exists")
    assert taken in text(renamed)  # what was typed is kept
    assert count(app, Agency) == agencies and agency_named(app, "County Police") is not None


def test_an_agency_name_taken_at_the_same_moment_is_refused_not_a_500(app: Flask, admin: FlaskClient,
                                                                      people: dict[str, Any], monkeypatch: Any) -> None:
    """If another admin saves the same name between the check and the save, the unique constraint
    refuses it and the form is shown again."""
    from riskhub.operations import accounts

    monkeypatch.setattr(accounts, "agency_name_taken", lambda name, other_than=None: False)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = post_form(admin, "/admin/agencies/new", {"name": "County Police", "kind": "housing"})
    assert_form_error(response, "name", "An agency with this name already exists")
    renamed = post_form(admin, f"/admin/agencies/{people['idva_agency']}/edit",
                        {"name": "County Police", "kind": "survivor_support", "active": "y"}, hidden=("version",))
    assert_form_error(renamed, "name", "An agency with this name already exists")
    assert agency_named(app, "Riverside IDVA") is not None
    assert [a.name for a in _agencies_of_kind(app, "housing")] == []


def _agencies_of_kind(app: Flask, kind: str) -> list[Agency]:
    with app.app_context():
        return list(db.session.scalars(select(Agency).where(Agency.kind == kind)))


def test_admin_cannot_deactivate_their_own_agency(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """Unticking Active on the admin's own agency is refused beside the box; the agency stays active."""
    url = f"/admin/agencies/{people['police_agency']}/edit"
    response = post_form(admin, url, {"name": "County Police", "kind": "police"})
    assert_form_error(response, "active", "You cannot deactivate your own agency")
    assert agency_active(app, "County Police") is True
    assert admin.get("/admin/").status_code == 200
    assert "admin.agency.update" not in [a for a, *_ in admin_log(app)]


def test_two_admins_editing_an_agency_get_a_conflict_not_an_overwrite(app: Flask, admin: FlaskClient,
                                                                      people: dict[str, Any], make: Any) -> None:
    """The second save of the same copy answers 409 with the form kept; the first change stays."""
    make.user("admin2@example.org", people["police_agency"], ("admin",))
    other = signed_in_as(app, "admin2@example.org")
    url = f"/admin/agencies/{people['idva_agency']}/edit"
    mine, theirs = admin.get(url).get_data(as_text=True), other.get(url).get_data(as_text=True)
    first = other.post(url, data={"name": "Riverside Housing", "kind": "housing", "active": "y",
                                  "version": hidden_value(theirs, "version"), "csrf_token": csrf_token(theirs)})
    assert first.status_code == 302
    second = admin.post(url, data={"name": "Riverside Support", "kind": "survivor_support", "active": "y",
                                   "version": hidden_value(mine, "version"), "csrf_token": csrf_token(mine)})
    assert second.status_code == 409
    page = text(second)
    assert "Someone else changed this record" in page and 'value="Riverside Support"' in page
    assert "The agency now reads: Riverside Housing" in page
    stored = agency_named(app, "Riverside Housing")
    assert stored is not None and stored.kind == AgencyKind.HOUSING
    assert agency_named(app, "Riverside Support") is None
    assert [a for a, *_ in admin_log(app)].count("admin.agency.update") == 1
    # Saving again from the re-shown form is a deliberate overwrite, and works.
    again = admin.post(url, data={"name": "Riverside Support", "kind": "survivor_support", "active": "y",
                                  "version": hidden_value(page, "version"), "csrf_token": csrf_token(page)})
    assert again.status_code == 302
    assert agency_named(app, "Riverside Support") is not None


# Users --------------------------------------------------------------------------------------


def test_admin_adds_a_user_with_roles(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """The new user is stored with the chosen agency and roles, can sign in, and is logged."""
    blank = admin.get("/admin/users/new").get_data(as_text=True)
    select = re.search(r'<select[^>]*id="agency"[^>]*>(.*?)</select>', blank, re.S)
    assert select and re.match(r'\s*<option value="">Choose an agency</option>', select.group(1))
    assert "selected" not in select.group(1), "an agency is preselected"
    response = post_form(admin, "/admin/users/new", user_form(people, email="  Priya.Shah@Example.org "))
    assert response.status_code == 302
    with app.app_context():
        from riskhub.operations.accounts import find_user_by_email

        user = find_user_by_email("priya.shah@example.org")
        assert user is not None
        user_id, agency_id, roles = user.id, user.agency_id, user.roles
    assert response.headers["Location"] == f"/admin/users/{user_id}"
    assert agency_id == people["idva_agency"]
    assert roles == {Role.PRACTITIONER, Role.CHAIR}
    page = text(admin.get(response.headers["Location"]))
    assert "User Priya Shah added. They choose their own password when they first sign in." in page
    assert "<h1>Priya Shah</h1>" in page
    assert "priya.shah@example.org" in page
    assert "Priya Shah" in text(admin.get("/admin/users"))
    assert admin_log(app)[-1] == ("admin.user.create", people["admin"], str(user_id), None)
    assert can_sign_in(app, "priya.shah@example.org", NEW_USER["password"])


@pytest.mark.parametrize(("changes", "field_id", "message"), [
    ({"name": ""}, "name", "Enter the person's name"),
    ({"name": "   "}, "name", "Enter the person's name"),
    ({"email": ""}, "email", "Enter an email address"),
    ({"email": "priya.example.org"}, "email", "Enter an email address like name@example.org"),
    ({"email": "priya@example.org\nBcc: x@example.net"}, "email", "Enter an email address like name@example.org"),
    ({"email": "priya shah@example.org"}, "email", "Enter an email address like name@example.org"),
    ({"email": "priya\u2028@example.org"}, "email", "Enter an email address like name@example.org"),
    ({"agency": ""}, "agency", "Choose the person's agency"),
    ({"agency": str(uuid.UUID(int=7))}, "agency", "Agency: choose from the options shown on the page"),
    ({"roles": []}, "roles", "Choose at least one role"),
    ({"roles": ["superuser"]}, "roles", "Roles: choose from the options shown on the page"),
    ({"password": ""}, "password", "Enter an initial password"),
    ({"password": "short-9"}, "password", "at least 12 characters"),
    ({"email": "IDVA@example.org "}, "email", "A user with this email address already exists"),
])
def test_bad_user_is_refused_and_nothing_stored(app: Flask, admin: FlaskClient, people: dict[str, Any],
                                                changes: dict[str, Any], field_id: str, message: str) -> None:
    """Each missing or bad field (and a duplicate email, any case): 400, errors linked, no user stored."""
    users, entries = count(app, User), len(admin_log(app))
    response = post_form(admin, "/admin/users/new", user_form(people, **changes))
    assert_form_error(response, field_id, message)
    assert count(app, User) == users
    assert len(admin_log(app)) == entries
    if field_id != "name":  # what was typed is kept, except the password
        assert 'value="Priya Shah"' in response.get_data(as_text=True)
    assert NEW_USER["password"] not in response.get_data(as_text=True)


def test_admin_changes_roles(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """New roles are stored, take effect for the user, are shown ticked, and are logged with the roles."""
    url = f"/admin/users/{people['idva']}"
    assert signed_in_as(app, "idva@example.org").get("/audit/").status_code == 403
    response = post_form(admin, f"{url}/roles", {"roles": ["practitioner", "auditor"]}, page=url, hidden=("version",))
    assert response.status_code == 302 and response.headers["Location"] == url
    assert stored_user(app, people["idva"])[1] == {Role.PRACTITIONER, Role.AUDITOR}
    page = admin.get(url).get_data(as_text=True)
    assert "Roles updated." in page
    assert re.search(r'<input checked[^>]*value="auditor"|<input[^>]*value="auditor"[^>]*checked', page)
    assert not re.search(r'<input checked[^>]*value="chair"|<input[^>]*value="chair"[^>]*checked', page)
    assert signed_in_as(app, "idva@example.org").get("/audit/").status_code == 200
    assert admin_log(app)[-1] == ("admin.user.roles", people["admin"], str(people["idva"]), "auditor,practitioner")


@pytest.mark.parametrize(("roles", "message"), [
    ([], "Choose at least one role"), (["owner"], "Roles: choose from the options shown on the page")])
def test_bad_roles_are_refused(app: Flask, admin: FlaskClient, people: dict[str, Any], roles: list[str],
                               message: str) -> None:
    """No role, or an unknown one: 400 with the error linked to the roles group; roles unchanged."""
    url = f"/admin/users/{people['chair']}"
    response = post_form(admin, f"{url}/roles", {"roles": roles}, page=url, hidden=("version",))
    assert_form_error(response, "roles", message)
    assert stored_user(app, people["chair"])[1] == {Role.CHAIR, Role.PRACTITIONER}
    assert "admin.user.roles" not in [a for a, *_ in admin_log(app)]


def test_admin_cannot_remove_their_own_admin_role(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """Taking admin off oneself is refused beside the roles; adding a role to oneself still works."""
    url = f"/admin/users/{people['admin']}"
    response = post_form(admin, f"{url}/roles", {"roles": ["practitioner"]}, page=url, hidden=("version",))
    assert_form_error(response, "roles", "You cannot remove your own admin role")
    assert stored_user(app, people["admin"])[1] == {Role.ADMIN}
    assert admin.get("/admin/").status_code == 200
    assert "admin.user.roles" not in [a for a, *_ in admin_log(app)]
    assert post_form(admin, f"{url}/roles", {"roles": ["admin", "auditor"]}, page=url,
                     hidden=("version",)).status_code == 302
    assert stored_user(app, people["admin"])[1] == {Role.ADMIN, Role.AUDITOR}


def test_another_admin_can_remove_an_admin_role(app: Flask, admin: FlaskClient, people: dict[str, Any],
                                                make: Any) -> None:
    """The guard is about oneself: an admin may take the admin role from a colleague."""
    colleague = make.user("admin2@example.org", people["police_agency"], ("admin",))
    url = f"/admin/users/{colleague}"
    assert post_form(admin, f"{url}/roles", {"roles": ["auditor"]}, page=url, hidden=("version",)).status_code == 302
    assert stored_user(app, colleague)[1] == {Role.AUDITOR}


def test_two_admins_changing_roles_get_a_conflict_not_an_overwrite(app: Flask, admin: FlaskClient,
                                                                   people: dict[str, Any], make: Any) -> None:
    """Roles changed from an out-of-date page answer 409, say what the roles now are, and change nothing."""
    make.user("admin2@example.org", people["police_agency"], ("admin",))
    other = signed_in_as(app, "admin2@example.org")
    url = f"/admin/users/{people['idva']}"
    mine, theirs = admin.get(url).get_data(as_text=True), other.get(url).get_data(as_text=True)
    first = other.post(f"{url}/roles", data={"roles": ["practitioner", "auditor"],
                                             "version": hidden_value(theirs, "version"),
                                             "csrf_token": csrf_token(theirs)})
    assert first.status_code == 302
    second = admin.post(f"{url}/roles", data={"roles": ["practitioner", "chair"],
                                              "version": hidden_value(mine, "version"),
                                              "csrf_token": csrf_token(mine)})
    assert second.status_code == 409
    page = text(second)
    assert "Someone else changed this record" in page and "The roles now held: auditor, practitioner" in page
    assert re.search(r'<input checked[^>]*value="chair"|<input[^>]*value="chair"[^>]*checked', page)
    assert stored_user(app, people["idva"])[1] == {Role.PRACTITIONER, Role.AUDITOR}
    assert [a for a, *_ in admin_log(app)].count("admin.user.roles") == 1
    again = admin.post(f"{url}/roles", data={"roles": ["practitioner", "chair"],
                                             "version": hidden_value(page, "version"),
                                             "csrf_token": csrf_token(page)})
    assert again.status_code == 302
    assert stored_user(app, people["idva"])[1] == {Role.PRACTITIONER, Role.CHAIR}


def test_password_reset_replaces_the_password_and_ends_sessions(app: Flask, admin: FlaskClient,
                                                                people: dict[str, Any]) -> None:
    """After a reset the old password fails, the new one works, the user's browsers are signed out."""
    idva = signed_in_as(app, "idva@example.org")
    url = f"/admin/users/{people['idva']}"
    response = post_form(admin, f"{url}/password", {"password": NEW_PASSWORD}, page=url, hidden=("version",))
    assert response.status_code == 302 and response.headers["Location"] == url
    page = text(admin.get(url))
    assert "Password reset. Their sessions have ended" in page
    assert re.search(r"<dt>Signed-in sessions</dt><dd>0</dd>", page)
    assert sent_to_sign_in(idva)
    assert not can_sign_in(app, "idva@example.org", PASSWORD)
    assert can_sign_in(app, "idva@example.org", NEW_PASSWORD)
    actions = [(a, who, obj) for a, who, obj, _ in admin_log(app)]
    assert actions[-2:] == [("admin.user.password_reset", people["admin"], str(people["idva"])),
                            ("admin.user.end_sessions", people["admin"], str(people["idva"]))]


def test_a_reset_from_a_page_shown_before_another_admin_reset_is_refused(app: Flask, admin: FlaskClient,
                                                                          people: dict[str, Any]) -> None:
    """Two admins reset the same user from pages shown at the same time: the second is told, and the
    password the first gave the person is the one that works."""
    url = f"/admin/users/{people['idva']}"
    page = admin.get(url).get_data(as_text=True)
    other = app.test_client()
    AuthActions(other).login("admin@example.org")
    assert post_form(other, f"{url}/password", {"password": NEW_PASSWORD}, page=url,
                     hidden=("version",)).status_code == 302
    stale = admin.post(f"{url}/password", data={"password": "yet-another-passphrase-77", "csrf_token": csrf_token(page),
                                                "version": hidden_value(page, "version")})
    assert stale.status_code == 409 and "your reset has not been made" in text(stale)
    assert can_sign_in(app, "idva@example.org", NEW_PASSWORD)
    assert not can_sign_in(app, "idva@example.org", "yet-another-passphrase-77")


@pytest.mark.parametrize(("password", "message"), [
    ("", "Enter a new password"), ("tiny-1", "at least 12 characters"), ("x" * 129, "128 characters or fewer")])
def test_bad_password_reset_is_refused(app: Flask, admin: FlaskClient, people: dict[str, Any], password: str,
                                       message: str) -> None:
    """A missing or weak new password: 400, error linked to the field, old password and sessions kept."""
    idva = signed_in_as(app, "idva@example.org")
    url = f"/admin/users/{people['idva']}"
    response = post_form(admin, f"{url}/password", {"password": password}, page=url, hidden=("version",))
    assert_form_error(response, "password", message)
    # The roles form beside it still shows the roles the user holds.
    assert re.search(r'<input checked[^>]*value="practitioner"|<input[^>]*value="practitioner"[^>]*checked',
                     response.get_data(as_text=True)), "the roles form lost the user's roles"
    assert idva.get("/").status_code == 200
    assert can_sign_in(app, "idva@example.org", PASSWORD)
    assert "admin.user.password_reset" not in [a for a, *_ in admin_log(app)]


def test_deactivate_and_reactivate_a_user(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """Deactivation signs the user out and refuses sign-in; reactivation lets them sign in; both logged."""
    idva = signed_in_as(app, "idva@example.org")
    url = f"/admin/users/{people['idva']}"
    response = post_form(admin, f"{url}/deactivate", {}, page=url)
    assert response.status_code == 302
    page = text(admin.get(url))
    assert "can no longer sign in; their sessions have ended" in page
    assert "<dt>Status</dt><dd>Deactivated</dd>" in page and "Reactivate Idva" in page
    assert stored_user(app, people["idva"])[0] is False
    assert sent_to_sign_in(idva)
    assert not can_sign_in(app, "idva@example.org")
    assert post_form(admin, f"{url}/reactivate", {}, page=url).status_code == 302
    assert "Idva can sign in again." in text(admin.get(url))
    assert stored_user(app, people["idva"])[0] is True
    assert can_sign_in(app, "idva@example.org")
    actions = [(a, who, obj) for a, who, obj, _ in admin_log(app)]
    who = (people["admin"], str(people["idva"]))
    assert actions[-3:] == [("admin.user.deactivate", *who), ("admin.user.end_sessions", *who),
                            ("admin.user.activate", *who)]


def test_admin_cannot_deactivate_themselves(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """Deactivating one's own account is refused with a clear message; they stay active and signed in."""
    url = f"/admin/users/{people['admin']}"
    own = text(admin.get(url))
    assert "Deactivate Admin" not in own and "You cannot deactivate your own account" in own  # no such button
    response = post_form(admin, f"{url}/deactivate", {}, page=url)  # posted anyway
    assert response.status_code == 302
    page = text(admin.get(url))
    assert re.search(r'class="notification notification--error"[^>]*><p>You cannot deactivate your own account',
                     page), "no refusal message"
    assert stored_user(app, people["admin"])[0] is True
    assert admin.get("/admin/").status_code == 200
    assert not [a for a, *_ in admin_log(app) if a in ("admin.user.deactivate", "admin.user.end_sessions")]


def test_end_all_sessions_signs_the_user_out_everywhere(app: Flask, admin: FlaskClient,
                                                       people: dict[str, Any]) -> None:
    """Both browsers of the user are signed out on their next request; the admin's own session goes on."""
    laptop, phone = signed_in_as(app, "idva@example.org"), signed_in_as(app, "idva@example.org")
    url = f"/admin/users/{people['idva']}"
    assert re.search(r"<dt>Signed-in sessions</dt><dd>2</dd>", admin.get(url).get_data(as_text=True))
    response = post_form(admin, f"{url}/end-sessions", {}, page=url)
    assert response.status_code == 302
    assert "Ended 2 sessions of Idva." in text(admin.get(url))
    assert sent_to_sign_in(laptop) and sent_to_sign_in(phone)
    assert admin.get("/admin/").status_code == 200
    assert can_sign_in(app, "idva@example.org")  # they may sign in again: only the sessions ended
    assert admin_log(app)[-1] == ("admin.user.end_sessions", people["admin"], str(people["idva"]),
                                  "ended by admin")


def test_a_programmes_admin_manages_their_own_staff_only(app: Flask, client: FlaskClient, auth: AuthActions,
                                                          people: dict[str, Any], make: Any) -> None:
    """An account a programme's admin could make or reset in the IDVA service would be a way past
    the firewall: they see and manage their own agency's staff only, cannot add or change
    agencies or set up protocols, and another agency's user is not found (the attempt logged)."""
    boss = make.user("boss@example.org", people["programme_agency"], ("admin",))
    assert auth.login("boss@example.org").status_code == 302
    index = text(client.get("/admin/"))
    assert "Change Programme" in index and "Riverside IDVA" not in index and "Add an agency" not in index
    assert "You manage the accounts of your own agency's staff" in index
    assert client.get("/admin/agencies/new").status_code == 403
    assert client.get(f"/admin/agencies/{people['idva_agency']}/edit").status_code == 403
    assert client.get(f"/admin/agencies/{people['programme_agency']}/edit").status_code == 403
    assert client.get("/partnerships/new").status_code == 403
    assert client.get("/protocols/new").status_code == 403
    listed = text(client.get("/admin/users"))
    assert "Programme" in listed and "Idva" not in listed and "Police" not in listed
    url = f"/admin/users/{people['idva']}"
    assert client.get(url).status_code == 404
    own = f"/admin/users/{people['programme']}"
    token = csrf_token(client.get(own).get_data(as_text=True))
    reset = client.post(f"{url}/password", data={"csrf_token": token, "password": NEW_PASSWORD, "version": "1"})
    assert reset.status_code == 404 and can_sign_in(app, "idva@example.org", PASSWORD)
    assert client.post(f"{url}/deactivate", data={"csrf_token": token}).status_code == 404
    elsewhere = post_form(client, "/admin/users/new", user_form(people, email="mole@example.org"))
    assert elsewhere.status_code == 400 and "Agency: choose from the options shown on the page" in text(elsewhere)
    assert not can_sign_in(app, "mole@example.org", NEW_USER["password"])
    staff = post_form(client, "/admin/users/new",
                      user_form(people, email="new.worker@example.org", agency=str(people["programme_agency"])))
    assert staff.status_code == 302
    assert can_sign_in(app, "new.worker@example.org", NEW_USER["password"])
    with app.app_context():
        denied = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.user_id == boss,
                                                                 AccessLogEntry.outcome == "denied")).all()
        assert {e.action for e in denied} == {"admin.agency.denied", "partnership.denied", "protocol.denied",
                                              "admin.user.denied"}
        assert {e.object_id for e in denied if e.action == "admin.user.denied"} == {str(people["idva"])}


def test_admin_buttons_need_the_csrf_token(app: Flask, admin: FlaskClient, people: dict[str, Any]) -> None:
    """A forged POST without the page's token changes nothing."""
    entries = len(admin_log(app))
    url = f"/admin/users/{people['idva']}"
    admin.post(f"{url}/deactivate")
    admin.post(f"{url}/roles", data={"roles": ["auditor"]})
    assert admin.post("/admin/agencies/new", data={"name": "Forged", "kind": "police"}).status_code == 400
    assert stored_user(app, people["idva"]) == (True, frozenset({Role.PRACTITIONER}))
    assert agency_named(app, "Forged") is None
    assert len(admin_log(app)) == entries


# Accessibility basics -----------------------------------------------------------------------


GENERIC_BUTTONS = {"submit", "ok", "go", "send", "save", "yes", "no", "button", "click here", "continue"}


class PageStructure(HTMLParser):
    """Headings, labels, form controls (with their enclosing fieldset) and button texts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.h1 = 0
        self.label_for: set[str] = set()
        self.ids: list[str] = []
        self.controls: list[dict[str, Any]] = []
        self.fieldsets: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []
        self.buttons: list[str] = []
        self._button: list[str] | None = None
        self._legend: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "h1":
            self.h1 += 1
        elif tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        elif tag == "fieldset":
            fieldset = {"legend": ""}
            self.fieldsets.append(fieldset)
            self._open.append(fieldset)
        elif tag == "legend" and self._open:
            self._legend = self._open[-1]
        elif tag in ("input", "select", "textarea"):
            kind = a.get("type", "text") if tag == "input" else tag
            if kind == "submit":
                self.buttons.append(a.get("value", ""))
            elif kind != "hidden":
                self.controls.append({"tag": tag, "type": kind, "id": a.get("id"), "name": a.get("name"),
                                      "fieldset": self._open[-1] if self._open else None})
        elif tag == "button":
            self._button = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset" and self._open:
            self._open.pop()
        elif tag == "legend":
            self._legend = None
        elif tag == "button" and self._button is not None:
            self.buttons.append(" ".join("".join(self._button).split()))
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)
        if self._legend is not None:
            self._legend["legend"] += data.strip()


def assert_accessible_basics(page: str) -> None:
    """One h1; every control labelled by id; checkbox groups in a legended fieldset; buttons say what they do."""
    found = PageStructure()
    found.feed(page)
    assert found.h1 == 1, f"{found.h1} h1 elements"
    duplicates = {i for i in found.ids if found.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids {duplicates}"
    for control in found.controls:
        assert control["id"], f"a {control['tag']} without an id"
        assert control["id"] in found.label_for, f"#{control['id']} has no <label for>"
        group = [c for c in found.controls if c["name"] == control["name"]]
        if control["type"] in ("checkbox", "radio") and len(group) > 1:
            fieldset = control["fieldset"]
            assert fieldset is not None, f"#{control['id']} is in a group but not in a fieldset"
            assert fieldset["legend"], f"the fieldset around #{control['id']} has no legend"
            assert all(c["fieldset"] is fieldset for c in group), f"{control['name']} spans fieldsets"
    assert found.buttons, "no buttons"
    for label in found.buttons:
        words = label.lower().split()
        assert len(words) >= 2 and label.lower() not in GENERIC_BUTTONS, f"button {label!r} says too little"


def admin_pages(people: dict[str, Any], deactivated: uuid.UUID) -> list[str]:
    return ["/admin/", "/admin/users", "/admin/users/new", "/admin/agencies/new",
            f"/admin/agencies/{people['programme_agency']}/edit", f"/admin/users/{people['chair']}",
            f"/admin/users/{people['admin']}", f"/admin/users/{deactivated}"]


def test_every_admin_page_meets_the_basics(app: Flask, admin: FlaskClient, people: dict[str, Any],
                                           make: Any) -> None:
    """Each admin page (including a deactivated user's) has one h1, labelled fields and clear buttons."""
    gone = make.user("gone@example.org", people["idva_agency"])
    post_form(admin, f"/admin/users/{gone}/deactivate", {}, page=f"/admin/users/{gone}")
    for url in admin_pages(people, gone):
        response = admin.get(url)
        assert response.status_code == 200, url
        try:
            assert_accessible_basics(response.get_data(as_text=True))
        except AssertionError as problem:
            raise AssertionError(f"{url}: {problem}") from None


def test_every_admin_form_with_errors_meets_the_basics(app: Flask, admin: FlaskClient,
                                                       people: dict[str, Any]) -> None:
    """The re-shown forms keep the basics, with an "Error:" title and the field marked invalid."""
    user_url = f"/admin/users/{people['idva']}"
    failures = [
        post_form(admin, "/admin/agencies/new", {"name": "", "kind": "police"}),
        post_form(admin, f"/admin/agencies/{people['idva_agency']}/edit", {"name": "", "kind": "police"}),
        post_form(admin, "/admin/users/new", {"name": "", "email": "", "password": ""}),
        post_form(admin, f"{user_url}/roles", {}, page=user_url),
        post_form(admin, f"{user_url}/password", {"password": ""}, page=user_url, hidden=("version",)),
    ]
    for response in failures:
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "<title>Error: " in page
        assert 'aria-invalid="true"' in page or 'aria-describedby="roles-error"' in page
        assert_accessible_basics(page)
