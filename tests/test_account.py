"""Your account: who you are signed in as, changing your own password, your other sessions; and
the password an admin sets, which opens nothing until its holder chooses their own."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.audit import AccessLogEntry
from tests.conftest import PASSWORD, post_form
from tests.test_sessions import sends_to_sign_in, session_rows

NEW_PASSWORD = "lantern-meadow-copper-41"


def errors_on(html: str) -> list[str]:
    summary = html.split('class="error-summary__list"', 1)[1].split("</ul>", 1)[0] if "error-summary" in html else ""
    return re.findall(r'href="#([^"]+)"', summary)


def change(client: FlaskClient, current: str = PASSWORD, new: str = NEW_PASSWORD, again: str | None = None) -> Any:
    return post_form(client, "/account/password", {"current_password": current, "new_password": new,
                                                   "confirm_password": new if again is None else again})


def signs_in(app: Flask, email: str, password: str) -> bool:
    other = app.test_client()
    response = post_form(other, "/signin", {"email": email, "password": password})
    return response.status_code == 302 and not response.headers["Location"].startswith("/signin")


def log_entries(app: Flask, action: str) -> list[AccessLogEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AccessLogEntry).filter_by(action=action).order_by(AccessLogEntry.seq)))


def test_your_account_says_who_you_are_signed_in_as(client: FlaskClient, auth: Any, people: dict[str, Any]) -> None:
    assert client.get("/account/").status_code == 302  # signed out: to sign in
    auth.login("idva@example.org")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/account/"' in home
    page = unescape(client.get("/account/").get_data(as_text=True))
    assert "<h1>Your account</h1>" in page
    assert 'aria-label="Your account: Idva" aria-current="page"' in page  # where you are, in the header
    assert "idva@example.org" in page and "Riverside IDVA" in page and "practitioner" in page
    assert "This one" in page and "Sign out of your other sessions" not in page  # one session only


def test_changing_your_password_needs_the_current_one_and_ends_your_other_sessions(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, Any]) -> None:
    auth.login("idva@example.org")
    elsewhere = app.test_client()
    post_form(elsewhere, "/signin", {"email": "idva@example.org", "password": PASSWORD})
    assert not sends_to_sign_in(elsewhere)

    wrong = change(client, current="not-my-password-at-all")
    html = unescape(wrong.get_data(as_text=True))
    assert wrong.status_code == 400 and errors_on(html) == ["current_password"]
    assert "Your current password is not right" in html
    [refused] = log_entries(app, "account.password_change")
    assert refused.outcome == "denied" and refused.user_id == people["idva"]

    mismatch = change(client, again="lantern-meadow-copper-42")
    assert mismatch.status_code == 400 and errors_on(mismatch.get_data(as_text=True)) == ["confirm_password"]
    weak = change(client, new="password1234")
    assert weak.status_code == 400 and errors_on(weak.get_data(as_text=True)) == ["new_password"]
    assert "too common" in weak.get_data(as_text=True)
    same = change(client, new=PASSWORD)
    assert same.status_code == 400 and "not the one you have now" in same.get_data(as_text=True)
    assert signs_in(app, "idva@example.org", PASSWORD)  # nothing changed yet
    assert not sends_to_sign_in(elsewhere)

    done = change(client)
    assert done.status_code == 302 and done.headers["Location"] == "/account/"
    page = unescape(client.get("/account/").get_data(as_text=True))
    assert "Your password has been changed. You have been signed out of your 2 other sessions." in page
    assert sends_to_sign_in(elsewhere)  # the other browser is out
    assert not signs_in(app, "idva@example.org", PASSWORD)
    assert signs_in(app, "idva@example.org", NEW_PASSWORD)
    assert [e.outcome for e in log_entries(app, "account.password_change")] == ["denied", "allowed"]
    with app.app_context():
        user = db.session.get(User, people["idva"])
        assert user.password_hash.startswith("$argon2") and NEW_PASSWORD not in user.password_hash


def test_guessing_the_current_password_locks_as_sign_in_does(app: Flask, client: FlaskClient, auth: Any,
                                                             people: dict[str, Any]) -> None:
    """Wrong current passwords count as failed sign-ins: an unlocked screen is no way to guess it."""
    auth.login("idva@example.org")
    for _ in range(app.config["SIGNIN_ACCOUNT_FREE_FAILURES"]):
        assert change(client, current="a-wrong-guess-here").status_code == 400
    locked = change(client)  # even the right one now waits
    assert locked.status_code == 400 and "Too many wrong passwords" in locked.get_data(as_text=True)
    assert not signs_in(app, "idva@example.org", PASSWORD)
    assert client.get("/account/").status_code == 200  # the session itself goes on


def test_signing_out_of_your_other_sessions(app: Flask, client: FlaskClient, auth: Any,
                                            people: dict[str, Any]) -> None:
    auth.login("police@example.org")
    elsewhere = app.test_client()
    post_form(elsewhere, "/signin", {"email": "police@example.org", "password": PASSWORD})
    page = client.get("/account/").get_data(as_text=True)
    assert "Another browser or tab set" in page and "Sign out of your other sessions" in page
    assert post_form(client, "/account/sessions/end-others", {}, page="/account/").status_code == 302
    assert "Signed out of 1 other session." in client.get("/account/").get_data(as_text=True)
    assert sends_to_sign_in(elsewhere) and not sends_to_sign_in(client)
    assert sorted(r.end_reason or "" for r in session_rows(app, people["police"])) == [
        "", "signed out from another session"]
    assert log_entries(app, "account.sessions.end_others")[-1].purpose == "1 ended"


def test_a_password_an_admin_set_opens_only_the_page_to_choose_your_own(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, Any], make: Any) -> None:
    auth.login("admin@example.org")
    added = post_form(client, "/admin/users/new", {
        "name": "Priya Shah", "email": "priya@example.org", "agency": str(people["idva_agency"]),
        "roles": ["practitioner"], "password": "first-time-river-stone-8"})
    assert added.status_code == 302
    auth.logout()
    reference = make.case(people["idva"])

    auth.login("priya@example.org", password="first-time-river-stone-8")
    for url in ("/", f"/cases/{reference}", "/account/", "/actions/mine"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password", url
    page = client.get("/account/password").get_data(as_text=True)
    assert "Your password was set by an admin" in page and ">Cancel<" not in page
    assert post_form(client, "/cases/new", {"survivor_given_name": "X"}, page="/account/password").headers[
        "Location"] == "/account/password"
    assert change(client, current="first-time-river-stone-8").status_code == 302
    assert client.get("/").status_code == 200
    with app.app_context():
        assert db.session.scalars(select(User).where(User.must_change_password.is_(True))).all() == []
    auth.logout()

    # An admin's reset sets the flag again.
    auth.login("admin@example.org")
    with app.app_context():
        priya = db.session.scalars(select(User).where(User.must_change_password.is_(False))).all()
        priya_id = next(u.id for u in priya if u.email == "priya@example.org")
    url = f"/admin/users/{priya_id}"
    assert post_form(client, f"{url}/password", {"password": "second-reset-fern-22"}, page=url,
                     hidden=("version",)).status_code == 302
    auth.logout()
    auth.login("priya@example.org", password="second-reset-fern-22")
    assert client.get("/").headers["Location"] == "/account/password"


def test_account_pages_meet_the_basics(app: Flask, client: FlaskClient, auth: Any, people: dict[str, Any]) -> None:
    """One h1, labelled fields and buttons that say what they do, with and without errors shown."""
    from tests.test_admin import assert_accessible_basics

    auth.login("chair@example.org")
    post_form(app.test_client(), "/signin", {"email": "chair@example.org", "password": PASSWORD})
    pages = {"/account/": client.get("/account/"), "/account/password": client.get("/account/password"),
             "/account/password (errors)": change(client, current="", new="", again="")}
    for url, response in pages.items():
        try:
            assert_accessible_basics(response.get_data(as_text=True))
        except AssertionError as problem:
            raise AssertionError(f"{url}: {problem}") from None
    assert errors_on(pages["/account/password (errors)"].get_data(as_text=True)) == [
        "current_password", "new_password", "confirm_password"]


def test_a_changed_password_clears_the_wrong_guesses_before_it(app: Flask, client: FlaskClient, auth: Any,
                                                               people: dict[str, Any]) -> None:
    """Proving the password, like signing in, stops earlier wrong guesses counting towards a lock."""
    from riskhub.models.accounts import SignInThrottle

    auth.login("idva@example.org")
    for _ in range(2):
        assert change(client, current="a-wrong-guess-here").status_code == 400
    with app.app_context():
        assert [row.failures for row in db.session.scalars(select(SignInThrottle))] == [2]
    assert change(client).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(SignInThrottle)).all() == []
