"""Server-side sessions: a new identifier at sign-in, sign-out, ending sessions, timeouts, cookies."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from riskhub.extensions import db
from riskhub.models.accounts import UserSession
from riskhub.models.audit import AccessLogEntry
from riskhub.models.base import as_utc, utcnow

PASSWORD = "correct-horse-battery-7"
COOKIE = "riskhub_session"
_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_from(client: FlaskClient, url: str, **kwargs: Any) -> str:
    """Load a page and return its CSRF token."""
    match = _CSRF.search(client.get(url, **kwargs).get_data(as_text=True))
    assert match, f"{url} has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, **kwargs: Any) -> Any:
    """Post the sign-in form."""
    token = csrf_from(client, "/signin", **kwargs)
    return client.post("/signin", data={"email": email, "password": PASSWORD, "csrf_token": token}, **kwargs)


def press(client: FlaskClient, url: str, page: str = "/") -> Any:
    """Press a POST button (a bare form with a CSRF token) found on `page`."""
    return client.post(url, data={"csrf_token": csrf_from(client, page)})


def cookie_value(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def client_with_cookie(app: Flask, value: str) -> FlaskClient:
    """A fresh browser that presents a captured session cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


def sends_to_sign_in(client: FlaskClient) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/signin")


def session_rows(app: Flask, user_id: uuid.UUID) -> list[UserSession]:
    with app.app_context():
        rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)).all()
        db.session.expunge_all()
        return list(rows)


# A new identifier at sign-in -----------------------------------------------------------------


def test_sign_in_issues_a_new_session_cookie(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """The cookie changes at sign-in, and the cookie held before sign-in stays signed out."""
    client.get("/signin")
    before = cookie_value(client)
    assert before
    assert sign_in(client, "idva@example.org").status_code == 302
    after = cookie_value(client)
    assert after and after != before
    assert client.get("/").status_code == 200
    assert sends_to_sign_in(client_with_cookie(app, before))


def test_session_is_a_server_side_row(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """Signing in opens one live session row for the user; the cookie holds no user id."""
    sign_in(client, "idva@example.org")
    [row] = session_rows(app, people["idva"])
    assert row.ended_at is None
    assert str(people["idva"]) not in (cookie_value(client) or "")


# Ending sessions ------------------------------------------------------------------------------


def test_sign_out_ends_the_session_on_the_server(app: Flask, client: FlaskClient,
                                                 people: dict[str, Any]) -> None:
    """After sign-out even a copy of the signed-in cookie is no longer signed in."""
    sign_in(client, "idva@example.org")
    captured = cookie_value(client)
    assert captured
    response = press(client, "/signout")
    assert response.status_code == 302 and response.headers["Location"] == "/signin"
    assert "You have signed out." in client.get("/signin").get_data(as_text=True)
    assert sends_to_sign_in(client)
    assert sends_to_sign_in(client_with_cookie(app, captured))
    [row] = session_rows(app, people["idva"])
    assert row.ended_at is not None and row.end_reason == "signed out"
    with app.app_context():
        entry = db.session.scalars(select(AccessLogEntry).filter_by(action="signout")).one()
        assert entry.user_id == people["idva"]


def test_sign_out_by_get_is_refused(client: FlaskClient, people: dict[str, Any]) -> None:
    """GET /signout answers 405 and leaves the user signed in (no link can sign anyone out)."""
    sign_in(client, "idva@example.org")
    response = client.get("/signout")
    assert response.status_code == 405
    assert "That action is not possible here" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_admin_deactivation_ends_the_session_at_once(app: Flask, client: FlaskClient,
                                                     people: dict[str, Any]) -> None:
    """The deactivated user's open browser is sent to sign in on its next request and cannot sign in."""
    sign_in(client, "idva@example.org")
    assert client.get("/").status_code == 200
    admin = app.test_client()
    sign_in(admin, "admin@example.org")
    page = f"/admin/users/{people['idva']}"
    assert press(admin, f"{page}/deactivate", page).status_code == 302
    assert "Deactivated" in admin.get(page).get_data(as_text=True)
    assert sends_to_sign_in(client)
    [row] = session_rows(app, people["idva"])
    assert row.end_reason == "deactivated"
    assert sign_in(client, "idva@example.org").status_code == 400


def test_admin_end_sessions_signs_the_user_out_everywhere(app: Flask, client: FlaskClient,
                                                          people: dict[str, Any]) -> None:
    """"End all sessions" ends every open session of the user; they can sign in again."""
    laptop, phone = client, app.test_client()
    sign_in(laptop, "idva@example.org")
    sign_in(phone, "idva@example.org")
    admin = app.test_client()
    sign_in(admin, "admin@example.org")
    page = f"/admin/users/{people['idva']}"
    assert "<dd>2</dd>" in admin.get(page).get_data(as_text=True)
    response = press(admin, f"{page}/end-sessions", page)
    assert response.status_code == 302
    assert "Ended 2 sessions" in admin.get(page).get_data(as_text=True)
    assert sends_to_sign_in(laptop) and sends_to_sign_in(phone)
    assert {r.end_reason for r in session_rows(app, people["idva"])} == {"ended by admin"}
    assert sign_in(laptop, "idva@example.org").status_code == 302


def test_cli_deactivate_user_ends_the_session(app: Flask, client: FlaskClient, runner: Any,
                                              people: dict[str, Any]) -> None:
    """`riskhub deactivate-user` ends the user's open session at once."""
    sign_in(client, "idva@example.org")
    assert client.get("/").status_code == 200
    result = runner.invoke(args=["deactivate-user", "IDVA@example.org"])
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    assert sends_to_sign_in(client)


# Timeouts -----------------------------------------------------------------------------------


def _age_session(app: Flask, user_id: uuid.UUID, *, idle: timedelta, age: timedelta) -> None:
    """Pretend the session was opened `age` ago and last used `idle` ago."""
    now = utcnow()
    with app.app_context():
        db.session.execute(update(UserSession).where(UserSession.user_id == user_id)
                           .values(created_at=now - age, last_seen_at=now - idle))
        db.session.commit()


def test_idle_session_ends(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """A session unused for longer than SESSION_IDLE_MINUTES is over; the row says why."""
    sign_in(client, "idva@example.org")
    limit = app.config["SESSION_IDLE_MINUTES"]
    _age_session(app, people["idva"], idle=timedelta(minutes=limit, seconds=5), age=timedelta(hours=1))
    assert sends_to_sign_in(client)
    [row] = session_rows(app, people["idva"])
    assert row.end_reason == "idle timeout"
    with app.app_context():
        entry = db.session.scalars(select(AccessLogEntry).filter_by(action="session.end")).one()
        assert entry.purpose == "idle timeout" and entry.user_id == people["idva"]


def test_idle_limit_follows_configuration(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """A smaller SESSION_IDLE_MINUTES ends sessions sooner."""
    app.config["SESSION_IDLE_MINUTES"] = 2
    sign_in(client, "idva@example.org")
    _age_session(app, people["idva"], idle=timedelta(minutes=3), age=timedelta(minutes=3))
    assert sends_to_sign_in(client)


def test_activity_keeps_the_session_alive(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """A request within the idle limit keeps the session and moves its idle clock on."""
    sign_in(client, "idva@example.org")
    limit = app.config["SESSION_IDLE_MINUTES"]
    _age_session(app, people["idva"], idle=timedelta(minutes=limit - 1), age=timedelta(hours=1))
    assert client.get("/").status_code == 200
    [row] = session_rows(app, people["idva"])
    assert row.ended_at is None
    assert utcnow() - as_utc(row.last_seen_at) < timedelta(minutes=1)


_SECONDS_LEFT = re.compile(r'id="timeout-warning"[^>]*data-seconds-left="(\d+)"[^>]*hidden')


def test_pages_carry_the_time_left_before_the_idle_sign_out(app: Flask, client: FlaskClient,
                                                            people: dict[str, Any]) -> None:
    """The (hidden) warning on every signed-in page knows how long the session has left, as the
    server counts it; the sign-in page has none."""
    assert 'id="timeout-warning"' not in client.get("/signin").get_data(as_text=True)
    sign_in(client, "idva@example.org")
    limit = app.config["SESSION_IDLE_MINUTES"]
    fresh = _SECONDS_LEFT.search(client.get("/").get_data(as_text=True))
    assert fresh and limit * 60 - 5 <= int(fresh.group(1)) <= limit * 60
    _age_session(app, people["idva"], idle=timedelta(seconds=50), age=timedelta(hours=1))  # seen under a minute ago
    page = client.get("/").get_data(as_text=True)
    aged = _SECONDS_LEFT.search(page)
    assert aged and limit * 60 - 55 <= int(aged.group(1)) <= limit * 60 - 45
    assert ">Stay signed in</button>" in page


def test_stay_signed_in_keeps_an_idle_session(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """"Stay signed in" moves the idle clock on; it needs the page's CSRF token; once the
    session is over it leads to sign-in, and the page script hears it is over."""
    sign_in(client, "idva@example.org")
    limit = app.config["SESSION_IDLE_MINUTES"]
    token = csrf_from(client, "/")
    _age_session(app, people["idva"], idle=timedelta(minutes=limit - 1), age=timedelta(hours=1))
    assert client.post("/session/keep-alive", data={}).status_code == 400
    kept = client.post("/session/keep-alive", data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert kept.status_code == 200 and kept.json["signed_in"] is True
    assert limit * 60 - 5 <= kept.json["seconds_left"] <= limit * 60
    [row] = session_rows(app, people["idva"])
    assert row.ended_at is None and utcnow() - as_utc(row.last_seen_at) < timedelta(minutes=1)
    # Without scripts the button posts the form and comes back to the page it was on.
    back = client.post("/session/keep-alive", data={"csrf_token": token, "next": "/cases/?page=2"})
    assert back.status_code == 302 and back.headers["Location"] == "/cases/?page=2"
    _age_session(app, people["idva"], idle=timedelta(minutes=limit, seconds=5), age=timedelta(hours=1))
    over = client.post("/session/keep-alive", data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert over.status_code == 302 and "/signin" in over.headers["Location"]
    [row] = session_rows(app, people["idva"])
    assert row.end_reason == "idle timeout"


def test_near_its_lifetime_limit_the_warning_counts_down_to_that(app: Flask, client: FlaskClient,
                                                                 people: dict[str, Any]) -> None:
    """Within SESSION_IDLE_MINUTES of the lifetime limit, the page's time left is the time to that
    limit, marked final (no "Stay signed in" helps), and keeping the session alive does not move it."""
    sign_in(client, "idva@example.org")
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    _age_session(app, people["idva"], idle=timedelta(seconds=5), age=timedelta(hours=hours, minutes=-10))
    page = client.get("/").get_data(as_text=True)
    left = _SECONDS_LEFT.search(page)
    assert left and 10 * 60 - 5 <= int(left.group(1)) <= 10 * 60
    assert 'data-final="true"' in page and "this session cannot be extended" in page
    token = csrf_from(client, "/")
    kept = client.post("/session/keep-alive", data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert kept.json["final"] is True and 10 * 60 - 5 <= kept.json["seconds_left"] <= 10 * 60
    # Earlier in the session the idle sign-out comes first.
    _age_session(app, people["idva"], idle=timedelta(seconds=5), age=timedelta(hours=1))
    assert 'data-final="false"' in client.get("/").get_data(as_text=True)


def test_asking_whether_still_signed_in_does_not_keep_the_session(app: Flask, client: FlaskClient,
                                                                  people: dict[str, Any]) -> None:
    """The page script's status question answers with the time left but is not activity: the idle
    clock does not move, and once the session is over the answer is the way to sign in."""
    sign_in(client, "idva@example.org")
    limit = app.config["SESSION_IDLE_MINUTES"]
    _age_session(app, people["idva"], idle=timedelta(minutes=limit - 3), age=timedelta(hours=1))
    status = client.get("/session/status", headers={"Accept": "application/json"})
    assert status.status_code == 200 and status.json["signed_in"] is True and status.json["final"] is False
    assert 3 * 60 - 5 <= status.json["seconds_left"] <= 3 * 60
    [row] = session_rows(app, people["idva"])
    assert utcnow() - as_utc(row.last_seen_at) > timedelta(minutes=limit - 4)  # not moved on
    _age_session(app, people["idva"], idle=timedelta(minutes=limit, seconds=5), age=timedelta(hours=1))
    over = client.get("/session/status", headers={"Accept": "application/json"})
    assert over.status_code == 302 and "/signin" in over.headers["Location"]
    [row] = session_rows(app, people["idva"])
    assert row.end_reason == "idle timeout"


def test_absolute_lifetime_ends_even_a_busy_session(app: Flask, client: FlaskClient,
                                                    people: dict[str, Any]) -> None:
    """A session older than SESSION_ABSOLUTE_HOURS ends however recently it was used."""
    sign_in(client, "idva@example.org")
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    _age_session(app, people["idva"], idle=timedelta(seconds=5), age=timedelta(hours=hours, minutes=1))
    assert sends_to_sign_in(client)
    [row] = session_rows(app, people["idva"])
    assert row.end_reason == "lifetime reached"


# Cookies ------------------------------------------------------------------------------------


def _session_cookie_header(response: Any) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    return header


def test_session_cookie_flags_over_http(client: FlaskClient, people: dict[str, Any]) -> None:
    """Over plain http the cookie is HttpOnly and SameSite, and not Secure (it would be dropped)."""
    header = _session_cookie_header(sign_in(client, "idva@example.org"))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header


@pytest.mark.parametrize("base_url", ["https://localhost"])
def test_session_cookie_is_secure_over_https(client: FlaskClient, people: dict[str, Any], base_url: str) -> None:
    """Served over https the cookie is Secure, HttpOnly and SameSite, and the session works."""
    response = sign_in(client, "idva@example.org", base_url=base_url)
    header = _session_cookie_header(response)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert client.get("/", base_url=base_url).status_code == 200
