"""Deny by default: every route, every method, needs a signed-in user unless it is on the public list."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from riskhub.extensions import db
from riskhub.lifecycle import PUBLIC_ENDPOINTS
from riskhub.models.audit import AccessLogEntry

PASSWORD = "correct-horse-battery-7"
_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
_SAMPLE_VALUES = {"uuid": str(uuid.uuid4()), "int": "1", "float": "1.0"}
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
OPEN_ENDPOINTS = frozenset({"auth.sign_in", "static", "main.health"})
# Reachable without signing in only with a secret token in the address (calendar programs cannot
# sign in). Without a valid token they must answer 404 and show nothing.
TOKEN_ENDPOINTS = frozenset({"calendar.feed"})


_PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _build_path(rule: Rule) -> str:
    """A concrete path for a rule, with a made-up value for each placeholder."""
    path = rule.rule
    for match in _PLACEHOLDER.finditer(rule.rule):
        converter, name = match.group(1) or "default", match.group(2)
        value = "riskhub.css" if rule.endpoint == "static" else _SAMPLE_VALUES.get(converter, f"x-{name}")
        path = path.replace(match.group(0), value)
    return path


def csrf_from(client: FlaskClient, url: str = "/signin") -> str:
    """Load a page and return its CSRF token."""
    match = _CSRF.search(client.get(url).get_data(as_text=True))
    assert match, f"{url} has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, email: str) -> None:
    """Sign in through the form."""
    response = client.post("/signin", data={"email": email, "password": PASSWORD, "csrf_token": csrf_from(client)})
    assert response.status_code == 302


def route_cases(app: Flask) -> list[tuple[str, str, str, frozenset[str]]]:
    """(endpoint, method, path, the rule's methods) for every rule and every method."""
    cases = []
    for rule in app.url_map.iter_rules():
        for method in ALL_METHODS:
            cases.append((rule.endpoint, method, _build_path(rule), frozenset(rule.methods or ())))
    return cases


def test_public_list_is_sign_in_static_and_health() -> None:
    """Only sign-in, static files and the health check are open (plus token-keyed feeds); widening this
    is a deliberate change."""
    assert PUBLIC_ENDPOINTS - TOKEN_ENDPOINTS == OPEN_ENDPOINTS
    assert PUBLIC_ENDPOINTS <= OPEN_ENDPOINTS | TOKEN_ENDPOINTS


def test_every_route_refuses_anonymous_users(app: Flask, client: FlaskClient) -> None:
    """Every endpoint and method not on the public list sends anonymous users to sign in (or refuses).

    The anonymous browser holds a valid CSRF token, so it is the guard, not CSRF, that refuses.
    """
    token = csrf_from(client)
    checked = set()
    for endpoint, method, path, methods in route_cases(app):
        if endpoint in OPEN_ENDPOINTS:
            continue
        data = {"csrf_token": token} if method in {"POST", "PUT", "PATCH", "DELETE"} else None
        response = client.open(path, method=method, data=data)
        where = f"{method} {path} ({endpoint})"
        if endpoint in PUBLIC_ENDPOINTS:  # token-keyed: a made-up token opens nothing
            if method == "OPTIONS":
                assert response.status_code == 200, where
            elif method in methods:
                assert response.status_code == 404, where
            else:
                assert response.status_code in {302, 405}, where
            assert method != "OPTIONS" or not response.data, where
        elif response.status_code == 302:
            assert response.headers["Location"].startswith("/signin"), where
        else:
            assert method not in methods or "GET" not in methods, where  # only for POST-only routes
            assert response.status_code in {401, 403, 405}, where
        body = response.get_data(as_text=True)
        assert "Dashboard" not in body and "Sign out" not in body and "BEGIN:VCALENDAR" not in body, where
        checked.add(endpoint)
    non_public = {r.endpoint for r in app.url_map.iter_rules()} - OPEN_ENDPOINTS
    assert checked == non_public
    assert {"main.dashboard", "admin.index", "cases.index"} <= checked


def test_public_endpoints_answer_anonymous_users(client: FlaskClient) -> None:
    """Sign-in, the health check and static files answer without signing in."""
    assert client.get("/signin").status_code == 200
    health = client.get("/health")
    assert health.status_code == 200 and health.get_json() == {"status": "ok"}
    assert client.get("/static/riskhub.css").status_code == 200


def test_unknown_address_sends_anonymous_users_to_sign_in(client: FlaskClient) -> None:
    """An anonymous user cannot even learn which addresses exist."""
    response = client.get("/no/such/page")
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin")


def test_anonymous_redirect_remembers_where_they_were_going(client: FlaskClient, people: dict[str, Any]) -> None:
    """After signing in the user lands on the page they asked for."""
    response = client.get("/cases/")
    assert response.headers["Location"] == "/signin?next=%2Fcases%2F"
    reply = client.post("/signin?next=%2Fcases%2F", data={
        "email": "idva@example.org", "password": PASSWORD, "csrf_token": csrf_from(client)})
    assert reply.headers["Location"] == "/cases/"


def test_practitioner_is_denied_administration_and_the_denial_is_logged(
        app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """/admin/ answers 403 to a practitioner and the access log records the denial against them."""
    sign_in(client, "idva@example.org")
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "You do not have access to this page" in response.get_data(as_text=True)
    with app.app_context():
        entries = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.outcome == "denied")).all()
        assert [(e.action, e.user_id) for e in entries] == [("admin.denied", people["idva"])]
        assert entries[0].agency_id == people["idva_agency"] and entries[0].roles == "practitioner"


@pytest.mark.parametrize("email", ["idva@example.org", "chair@example.org", "auditor@example.org"])
def test_non_admins_are_denied_every_admin_route(app: Flask, client: FlaskClient, people: dict[str, Any],
                                                 email: str) -> None:
    """Every administration endpoint and method answers 403 to someone without the admin role."""
    sign_in(client, email)
    token = csrf_from(client, "/")
    admin_routes = [c for c in route_cases(app) if c[0].startswith("admin.") and c[1] in c[3]]
    assert admin_routes
    for endpoint, method, path, _ in admin_routes:
        data = {"csrf_token": token} if method == "POST" else None
        assert client.open(path, method=method, data=data).status_code == 403, f"{method} {path} ({endpoint})"


def test_auditor_and_admin_are_denied_case_work(client: FlaskClient, people: dict[str, Any]) -> None:
    """Roles without case work (auditor, admin) get 403 from the case list."""
    for email in ("auditor@example.org", "admin@example.org"):
        other = client.application.test_client()
        sign_in(other, email)
        assert other.get("/cases/").status_code == 403


def _case_entries(app: Flask, reference: str) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.action, e.outcome) for e in db.session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.case_ref == reference).order_by(AccessLogEntry.seq))]


def test_a_refused_form_is_not_recorded_as_a_view_of_the_case(app: Flask, client: FlaskClient, auth: Any,
                                                               people: dict[str, Any], make: Any) -> None:
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    before = _case_entries(app, reference)
    auth.login("programme@example.org")
    assert client.get(f"/cases/{reference}/survivor").status_code == 403
    assert client.get(f"/cases/{reference}/contact").status_code == 403
    assert client.get(f"/cases/{reference}/assessments/new/survivor").status_code == 403
    auth.logout()
    auth.login("idva@example.org")
    assert client.get(f"/cases/{reference}/events/new").status_code == 403
    new = _case_entries(app, reference)[len(before):]
    assert new == [("case.edit.denied", "denied"), ("case.edit.denied", "denied"),
                   ("assessment.denied", "denied"), ("event.denied", "denied")]


def test_auditors_and_admins_get_no_case_content_on_the_dashboard(app: Flask, client: FlaskClient, auth: Any,
                                                                    people: dict[str, Any], make: Any) -> None:
    from datetime import date

    make.user("idva-ig@example.org", people["idva_agency"], ("auditor",))
    make.user("idva-admin@example.org", people["idva_agency"], ("admin",))
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    page = client.get(f"/cases/{reference}/events/new").get_data(as_text=True)
    response = client.post(f"/cases/{reference}/events/new", data={
        "csrf_token": _CSRF.search(page).group(1), "kind": "disclosure", "occurred_on": date.today().isoformat(),
        "note": "Disclosed a new threat"})
    assert response.status_code == 302
    auth.logout()
    auth.login("idva@example.org")
    assert reference in client.get("/").get_data(as_text=True)  # the case worker gets the alert
    auth.logout()
    alerts_before = [e for e in _case_entries(app, reference) if e[0] == "case.alerts"]
    for email in ("idva-ig@example.org", "idva-admin@example.org"):
        auth.login(email)
        response = client.get("/")
        assert response.status_code == 200
        assert reference not in response.get_data(as_text=True)
        auth.logout()
    assert [e for e in _case_entries(app, reference) if e[0] == "case.alerts"] == alerts_before
