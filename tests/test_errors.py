"""Error pages say what happened in plain words and show no stack trace or data; failures fail closed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, abort, request
from flask.testing import FlaskClient
from flask_login import current_user
from sqlalchemy import func, select, text

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency
from riskhub.models.audit import AccessLogEntry

PASSWORD = "correct-horse-battery-7"
SECRET_DETAIL = "SENTINEL-INTERNAL-DETAIL-42"
_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Errors are handled as in production, not raised into the test."""
    return {"PROPAGATE_EXCEPTIONS": False}


@pytest.fixture(autouse=True)
def throwaway_routes(app: Flask) -> Iterator[None]:
    """Routes that exist only in this test app, to produce errors no real page should."""

    def status(code: int) -> str:
        abort(code)

    def boom() -> str:
        raise RuntimeError(SECRET_DETAIL)

    def stale(agency_id: uuid.UUID) -> str:
        # A real lost update: someone else's change bumps the row's version under us.
        agency = db.session.get(Agency, agency_id)
        db.session.execute(text("UPDATE agencies SET version = version + 1 WHERE id = :id"),
                           {"id": agency.id.hex if db.engine.dialect.name == "sqlite" else agency.id})
        agency.name = request.args.get("name", SECRET_DETAIL)
        audit.record("admin.agency.update", actor=audit.actor_for(current_user), object_type="agency",
                     object_id=agency.id)
        db.session.flush()
        return "saved"

    app.add_url_rule("/test-only/status/<int:code>", "test_status", status)
    app.add_url_rule("/test-only/boom", "test_boom", boom)
    app.add_url_rule("/test-only/stale/<uuid:agency_id>", "test_stale", stale)
    yield


def csrf_from(client: FlaskClient, url: str) -> str:
    """Load a page and return its CSRF token."""
    match = _CSRF.search(client.get(url).get_data(as_text=True))
    assert match, f"{url} has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, email: str) -> None:
    """Sign in through the form."""
    response = client.post("/signin", data={"email": email, "password": PASSWORD,
                                             "csrf_token": csrf_from(client, "/signin")})
    assert response.status_code == 302


def assert_plain_error_page(response: Any, status: int, title: str) -> str:
    """The page has the status and title, the usual headers, and no trace or internals."""
    body = response.get_data(as_text=True)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in body
    for leak in ("Traceback", 'File "', "werkzeug", "sqlalchemy", "Exception", SECRET_DETAIL):
        assert leak not in body, leak
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    return body


@pytest.fixture
def signed_in(client: FlaskClient, people: dict[str, Any]) -> FlaskClient:
    sign_in(client, "admin@example.org")
    return client


def test_400_page(signed_in: FlaskClient) -> None:
    assert_plain_error_page(signed_in.get("/test-only/status/400"), 400, "The request could not be understood")


def test_400_page_for_a_form_without_its_token(signed_in: FlaskClient) -> None:
    assert_plain_error_page(signed_in.post("/admin/agencies/new", data={"name": "X", "kind": "police"}),
                            400, "This form has expired")


def test_403_page(client: FlaskClient, people: dict[str, Any]) -> None:
    sign_in(client, "idva@example.org")
    assert_plain_error_page(client.get("/admin/"), 403, "You do not have access to this page")


def test_404_page(signed_in: FlaskClient) -> None:
    assert_plain_error_page(signed_in.get(f"/admin/users/{uuid.uuid4()}"), 404, "Page not found")


def test_405_page(signed_in: FlaskClient) -> None:
    assert_plain_error_page(signed_in.get("/signout"), 405, "That action is not possible here")


def test_409_page_when_someone_else_changed_the_record(app: Flask, signed_in: FlaskClient,
                                                       people: dict[str, Any]) -> None:
    """A lost update (stale version) answers 409 and the other person's change is kept."""
    response = signed_in.get(f"/test-only/stale/{people['police_agency']}?name=Overwritten")
    assert_plain_error_page(response, 409, "This record was changed by someone else")
    with app.app_context():
        assert db.session.get(Agency, people["police_agency"]).name == "County Police"
        # The attempt stays on record, marked as not completed rather than as a change made.
        entry = db.session.scalars(select(AccessLogEntry).filter_by(action="admin.agency.update")).one()
        assert entry.outcome == "failed" and entry.object_id == str(people["police_agency"])
    assert signed_in.get("/").status_code == 200


def test_413_page(app: Flask, signed_in: FlaskClient) -> None:
    """A body over MAX_CONTENT_LENGTH is refused with 413 before anything is read or saved."""
    token = csrf_from(signed_in, "/admin/agencies/new")
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = signed_in.post("/admin/agencies/new", data={"name": too_big, "kind": "police", "csrf_token": token})
    assert_plain_error_page(response, 413, "What you sent is too large")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agency).where(Agency.kind == "police")) == 1


def test_500_page(signed_in: FlaskClient) -> None:
    """An unexpected exception shows a plain apology, never the exception or its message."""
    assert_plain_error_page(signed_in.get("/test-only/boom"), 500, "Sorry, something went wrong")


def test_error_pages_carry_no_case_data(client: FlaskClient, people: dict[str, Any], make: Any) -> None:
    """A refused case page says only that access is refused, not whose case it is."""
    reference = make.case(people["idva"], survivor=("Maria", "Lopez", None), contact={"address": "1 Quiet Lane"})
    sign_in(client, "police@example.org")
    response = client.get(f"/cases/{reference}")
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Maria" not in body and "Lopez" not in body and "Quiet Lane" not in body and "Traceback" not in body


# Fail closed ---------------------------------------------------------------------------------


def _rename(app: Flask, old: str, new: str) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")


def test_case_page_is_withheld_when_the_access_log_cannot_be_written(
        app: Flask, client: FlaskClient, people: dict[str, Any], make: Any) -> None:
    """With the access log unwritable, the case page becomes an error page without the case content."""
    reference = make.case(people["idva"], survivor=("Maria", "Lopez", None),
                          contact={"address": "1 Quiet Lane", "phone": "07700 900999"})
    sign_in(client, "idva@example.org")
    assert "Maria Lopez" in client.get(f"/cases/{reference}").get_data(as_text=True)  # it works when logged

    _rename(app, "access_log", "access_log_offline")
    try:
        response = client.get(f"/cases/{reference}")
    finally:
        _rename(app, "access_log_offline", "access_log")
    body = response.get_data(as_text=True)
    assert response.status_code in {500, 503}
    assert "Sorry" in body
    for content in ("Maria", "Lopez", "Quiet Lane", "07700 900999", "Traceback"):
        assert content not in body, content
    with app.app_context():  # exactly one view was recorded: the one that was shown
        views = db.session.scalars(select(AccessLogEntry).filter_by(action="case.view")).all()
        assert len(views) == 1


def test_action_is_not_reported_done_when_its_log_entry_fails(
        app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """Sign-out whose log entry cannot be written answers with an error page, not "signed out"."""
    sign_in(client, "idva@example.org")
    token = csrf_from(client, "/")
    _rename(app, "access_log", "access_log_offline")
    try:
        response = client.post("/signout", data={"csrf_token": token})
    finally:
        _rename(app, "access_log_offline", "access_log")
    body = response.get_data(as_text=True)
    assert response.status_code in {500, 503}
    assert "Sorry" in body and "You have signed out" not in body
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    with app.app_context():
        assert db.session.scalars(select(AccessLogEntry).filter_by(action="signout")).all() == []


def test_a_refused_form_token_is_answered_within_the_users_key_limits(app: Flask, client: FlaskClient,
                                                                      people: dict[str, Any]) -> None:
    """The 'form has expired' page is drawn after the request is set up: with a request id, and
    for a perpetrator-facing user without the survivor contact key."""
    from flask import template_rendered

    from riskhub import crypto

    sign_in(client, "programme@example.org")
    limits: list[Any] = []

    def note_limits(_app: Any, template: Any, **_extra: Any) -> None:
        limits.append((template.name, crypto._permitted.get()))

    with template_rendered.connected_to(note_limits, app):
        response = client.post("/cases/new", data={"survivor_given_name": "Ann"})
    assert_plain_error_page(response, 400, "This form has expired")
    assert response.headers.get("X-Request-Id")
    assert limits and all(name == "errors/error.html" and permitted == {crypto.CASE_CONTENT, crypto.BLIND_INDEX}
                          for name, permitted in limits)
