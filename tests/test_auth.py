"""Sign-in: email and password, argon2id with rehash, password rules, one message, throttling."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from riskhub import passwords
from riskhub.extensions import db
from riskhub.models.accounts import SignInThrottle, User
from riskhub.models.audit import AccessLogEntry
from riskhub.models.base import as_utc, utcnow
from riskhub.operations import accounts
from riskhub.operations.accounts import SIGNIN_FAILED

PASSWORD = "correct-horse-battery-7"
WRONG = "not-the-right-password-9"
_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_from(client: FlaskClient, url: str = "/signin", **kwargs: Any) -> str:
    """Load a page and return its CSRF token, as a browser holds it."""
    match = _CSRF.search(client.get(url, **kwargs).get_data(as_text=True))
    assert match, f"{url} has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, address: str = "127.0.0.1",
            url: str = "/signin") -> Any:
    """Post the sign-in form from a given client address."""
    environ = {"REMOTE_ADDR": address}
    token = csrf_from(client, environ_base=environ)
    return client.post(url, data={"email": email, "password": password, "csrf_token": token},
                       environ_base=environ)


def signed_in(client: FlaskClient) -> bool:
    """The dashboard answers (rather than sending the client to sign in)."""
    return client.get("/").status_code == 200


def stored_hash(app: Flask, user_id: uuid.UUID) -> str:
    with app.app_context():
        return db.session.get(User, user_id).password_hash


# Signing in ---------------------------------------------------------------------------------


def test_email_and_password_open_the_dashboard(client: FlaskClient, people: dict[str, Any]) -> None:
    """The right email (any case, surrounding spaces) and password sign in and land on the dashboard."""
    response = sign_in(client, "  IDVA@Example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Dashboard</h1>" in page
    assert "Sign out" in page


def test_passwords_are_stored_as_argon2id(app: Flask, people: dict[str, Any]) -> None:
    """The stored value is an argon2id hash, never the password."""
    value = stored_hash(app, people["idva"])
    assert value.startswith("$argon2id$")
    assert PASSWORD not in value


def test_hash_is_upgraded_on_sign_in_when_parameters_change(app: Flask, client: FlaskClient,
                                                            people: dict[str, Any]) -> None:
    """A hash made with cheaper parameters is replaced by one with the current parameters at sign-in."""
    before = stored_hash(app, people["idva"])
    assert "m=1024,t=1," in before
    passwords.configure(time_cost=2, memory_kib=2048)
    try:
        assert sign_in(client, "idva@example.org").status_code == 302
        after = stored_hash(app, people["idva"])
        assert after != before
        assert "m=2048,t=2," in after
        assert passwords.verify_password(after, PASSWORD)
    finally:
        passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_KIB"])


def test_sign_in_without_rehash_keeps_the_hash(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """With unchanged parameters the stored hash is left alone."""
    before = stored_hash(app, people["idva"])
    assert sign_in(client, "idva@example.org").status_code == 302
    assert stored_hash(app, people["idva"]) == before


def _without_volatile_parts(html: str, email: str) -> str:
    return _CSRF.sub("", html).replace(email, "EMAIL")


def test_unknown_email_and_wrong_password_look_the_same(client: FlaskClient, people: dict[str, Any]) -> None:
    """Nothing on the page tells an unknown email from a wrong password."""
    unknown = sign_in(client, "nobody@example.org", WRONG)
    wrong = sign_in(client, "idva@example.org", WRONG)
    assert unknown.status_code == wrong.status_code == 400
    unknown_page, wrong_page = unknown.get_data(as_text=True), wrong.get_data(as_text=True)
    assert SIGNIN_FAILED in unknown_page and SIGNIN_FAILED in wrong_page
    assert _without_volatile_parts(unknown_page, "nobody@example.org") == _without_volatile_parts(
        wrong_page, "idva@example.org")
    assert not signed_in(client)


def test_deactivated_user_gets_the_generic_message(app: Flask, client: FlaskClient,
                                                   people: dict[str, Any]) -> None:
    """A deactivated account with the right password is refused with the same generic message."""
    from riskhub import audit

    with app.app_context():
        accounts.set_user_active(db.session.get(User, people["idva"]), False, actor=audit.SYSTEM)
        db.session.commit()
    response = sign_in(client, "idva@example.org")
    assert response.status_code == 400
    assert SIGNIN_FAILED in response.get_data(as_text=True)
    assert not signed_in(client)


def test_failed_sign_in_is_in_the_access_log(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """A failed attempt is recorded as denied; a successful one as a sign-in of that user."""
    sign_in(client, "idva@example.org", WRONG)
    sign_in(client, "idva@example.org")
    with app.app_context():
        failed = db.session.scalars(select(AccessLogEntry).filter_by(action="signin.failed")).one()
        assert failed.outcome == "denied" and failed.user_id == people["idva"]
        ok = db.session.scalars(select(AccessLogEntry).filter_by(action="signin")).one()
        assert ok.outcome == "allowed" and ok.user_id == people["idva"]


@pytest.mark.parametrize("target, expected", [
    ("/admin/", "/admin/"),
    ("https://evil.example/phish", "/"),
    ("//evil.example/phish", "/"),
    ("/%5Cevil.example/phish", "/"),  # a backslash: browsers read "/\\" as "//"
    ("/%09/evil.example/phish", "/"),  # browsers drop a tab, leaving "//"
    ("/%0d%0aSet-Cookie:x", "/"),  # CR and LF cannot go into the Location header
    ("/admin/%00", "/"),
])
def test_next_only_leads_to_this_site(client: FlaskClient, people: dict[str, Any], target: str,
                                      expected: str) -> None:
    """After sign-in `next` is followed only to a path on this site."""
    response = sign_in(client, "admin@example.org", url=f"/signin?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_sign_in_page_sends_signed_in_users_to_the_dashboard(client: FlaskClient,
                                                              people: dict[str, Any]) -> None:
    """A signed-in user opening the sign-in page goes to the dashboard."""
    sign_in(client, "idva@example.org")
    response = client.get("/signin")
    assert response.status_code == 302 and response.headers["Location"] == "/"


# Password rules -------------------------------------------------------------------------------


def _admin_create_user(client: FlaskClient, app: Flask, agency_id: uuid.UUID, email: str, password: str) -> Any:
    token = csrf_from(client, "/admin/users/new")
    return client.post("/admin/users/new", data={
        "name": "New Person", "email": email, "agency": str(agency_id), "roles": ["practitioner"],
        "password": password, "csrf_token": token,
    })


def _user_exists(app: Flask, email: str) -> bool:
    with app.app_context():
        return accounts.find_user_by_email(email) is not None


@pytest.mark.parametrize("password, message", [
    ("Short-pw-11", "at least 12 characters"),
    ("k" + "x7Q-" * 32, "128 characters or fewer"),
    ("password1234", "too common"),
    ("Qwertyuiop12", "too common"),
    ("iloveyou2024!", "too common"),
])
def test_admin_form_refuses_weak_passwords(app: Flask, client: FlaskClient, people: dict[str, Any],
                                           password: str, message: str) -> None:
    """Too short, too long or common passwords are refused with a reason, and no user is made."""
    sign_in(client, "admin@example.org")
    response = _admin_create_user(client, app, people["idva_agency"], "new.person@example.org", password)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert not _user_exists(app, "new.person@example.org")


@pytest.mark.parametrize("length", [12, 128])
def test_admin_form_accepts_passwords_at_the_length_limits(app: Flask, client: FlaskClient,
                                                           people: dict[str, Any], length: int) -> None:
    """12 and 128 characters are both allowed, and the new user can sign in with them."""
    password = ("Zq7-mv2#Lp9w" * 11)[:length]
    sign_in(client, "admin@example.org")
    response = _admin_create_user(client, app, people["idva_agency"], "new.person@example.org", password)
    assert response.status_code == 302
    assert _user_exists(app, "new.person@example.org")
    other = app.test_client()
    assert sign_in(other, "new.person@example.org", password).status_code == 302


# Throttling -----------------------------------------------------------------------------------


def test_free_failures_still_allow_the_right_password(app: Flask, client: FlaskClient,
                                                      people: dict[str, Any]) -> None:
    """Fewer failures than the free allowance do not stop the owner, and success clears the count."""
    free = app.config["SIGNIN_ACCOUNT_FREE_FAILURES"]
    for _ in range(free - 1):
        sign_in(client, "idva@example.org", WRONG)
    assert sign_in(client, "idva@example.org").status_code == 302
    assert signed_in(client)
    client.post("/signout", data={"csrf_token": csrf_from(client, "/")})
    for _ in range(free - 1):
        sign_in(client, "idva@example.org", WRONG)
    assert sign_in(client, "idva@example.org").status_code == 302


@pytest.mark.parametrize("email", ["idva@example.org", "nobody@example.org"])
def test_account_is_locked_after_the_free_failures(app: Flask, client: FlaskClient, people: dict[str, Any],
                                                   email: str) -> None:
    """Once the free failures are used, the next attempt is refused, known account or not."""
    free = app.config["SIGNIN_ACCOUNT_FREE_FAILURES"]
    for _ in range(free):
        page = sign_in(client, email, WRONG).get_data(as_text=True)
        assert SIGNIN_FAILED in page
    response = sign_in(client, email, PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Too many failed attempts. Try again in 1 minute." in page
    assert SIGNIN_FAILED not in page
    assert not signed_in(client)
    with app.app_context():
        throttled = db.session.scalars(select(AccessLogEntry).filter_by(action="signin.throttled")).one()
        assert throttled.outcome == "denied"


def test_lock_is_per_account(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """A locked account does not stop another account signing in from the same address."""
    for _ in range(app.config["SIGNIN_ACCOUNT_FREE_FAILURES"]):
        sign_in(client, "idva@example.org", WRONG)
    assert sign_in(client, "idva@example.org").status_code == 400
    assert sign_in(client, "police@example.org").status_code == 302


def _lock_seconds(app: Flask) -> list[float]:
    with app.app_context():
        rows = db.session.scalars(select(SignInThrottle).where(SignInThrottle.locked_until.is_not(None))).all()
        return [(as_utc(r.locked_until) - as_utc(r.last_failure_at)).total_seconds() for r in rows]


def test_lock_grows_with_each_further_failure(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """When a lock runs out, the next failure earns a longer one (exponential backoff)."""
    for _ in range(app.config["SIGNIN_ACCOUNT_FREE_FAILURES"]):
        sign_in(client, "idva@example.org", WRONG)
    [first] = _lock_seconds(app)
    with app.app_context():  # let the lock run out
        db.session.execute(update(SignInThrottle).where(SignInThrottle.locked_until.is_not(None))
                           .values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert SIGNIN_FAILED in sign_in(client, "idva@example.org", WRONG).get_data(as_text=True)
    [second] = _lock_seconds(app)
    assert second == 2 * first
    assert "Try again in" in sign_in(client, "idva@example.org").get_data(as_text=True)
    with app.app_context():  # the lock runs out: the owner can sign in again
        db.session.execute(update(SignInThrottle).where(SignInThrottle.locked_until.is_not(None))
                           .values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert sign_in(client, "idva@example.org").status_code == 302


def test_address_is_throttled_across_accounts(app: Flask, client: FlaskClient, people: dict[str, Any]) -> None:
    """Many failures from one address lock that address for every account; other addresses still work."""
    app.config["SIGNIN_ADDRESS_FREE_FAILURES"] = 3
    for n in range(3):
        sign_in(client, f"guess{n}@example.org", WRONG, address="203.0.113.9")
    refused = sign_in(client, "idva@example.org", address="203.0.113.9")
    assert refused.status_code == 400
    assert "Try again in" in refused.get_data(as_text=True)
    assert not signed_in(client)
    assert sign_in(client, "idva@example.org", address="198.51.100.7").status_code == 302


def test_production_hashes_use_argon2id_at_the_librarys_recommended_cost(app: Flask) -> None:
    """Without ARGON2_* settings a password is hashed with argon2id at argon2-cffi's defaults."""
    defaults = PasswordHasher()
    passwords.configure()
    try:
        value = passwords.hash_password(PASSWORD)
        assert value.startswith(f"$argon2id$v=19$m={defaults.memory_cost},t={defaults.time_cost},"
                                f"p={defaults.parallelism}$")
        assert passwords.verify_password(value, PASSWORD)
        assert not passwords.verify_password(value, PASSWORD + "x")
    finally:
        passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_KIB"])
