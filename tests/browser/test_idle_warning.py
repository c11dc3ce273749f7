"""In a real Chromium: the warning before the idle sign-out, "Stay signed in" without leaving the
page, and what someone typing keeps when the session ends anyway."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from riskhub.extensions import db
from riskhub.models.accounts import UserSession
from riskhub.models.base import as_utc, utcnow
from tests.browser.conftest import BROWSER_MARKS, playwright_api, sign_in
from tests.test_sessions import session_rows

pytestmark = BROWSER_MARKS


def last_used(app: Any, user_id: Any, ago: timedelta) -> None:
    with app.app_context():
        db.session.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                           .values(last_seen_at=utcnow() - ago))
        db.session.commit()


def opened(app: Any, user_id: Any, ago: timedelta) -> None:
    with app.app_context():
        db.session.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                           .values(created_at=utcnow() - ago))
        db.session.commit()


def seen_recently(app: Any, user_id: Any) -> bool:
    [row] = [r for r in session_rows(app, user_id) if r.ended_at is None]
    return utcnow() - as_utc(row.last_seen_at) < timedelta(seconds=30)


def test_the_idle_warning_keeps_the_session_and_the_typed_text(server: str, page: Any, app: Any,
                                                               people: dict[str, Any], make: Any) -> None:
    """The browser's clock is moved on (the server's idle clock with it, by ageing the session
    row): two minutes before the limit the warning comes and "Stay signed in" keeps the session
    without leaving the page; typing keeps it too; left too long, the page says the session is
    over and what was typed is still there."""
    expect = playwright_api.expect
    reference = make.case(people["idva"])
    limit = app.config["SESSION_IDLE_MINUTES"]
    page.clock.install()
    sign_in(page, server, "idva@example.org")
    warning = page.get_by_role("alertdialog", name="You will be signed out soon")
    page.goto(f"{server}/cases/{reference}")
    note = page.get_by_label("Note", exact=True)
    note.focus()
    expect(warning).to_be_hidden()
    page.clock.fast_forward(f"{limit - 3}:00")
    expect(warning).to_be_hidden()

    page.clock.fast_forward("01:10")  # under two minutes left
    expect(warning).to_be_visible()
    expect(warning).to_be_focused()
    last_used(app, people["idva"], timedelta(minutes=limit - 2))
    warning.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    expect(note).to_be_focused()  # back where the user was
    expect(page).to_have_url(f"{server}/cases/{reference}")  # without leaving the page
    assert seen_recently(app, people["idva"])

    # Someone typing a long note is not signed out in the middle of it.
    last_used(app, people["idva"], timedelta(minutes=5))
    page.clock.fast_forward("05:00")
    note.fill("Moved to her sister's")
    page.clock.fast_forward("00:10")
    for _ in range(50):
        if seen_recently(app, people["idva"]):
            break
        page.wait_for_timeout(100)
    assert seen_recently(app, people["idva"])
    expect(warning).to_be_hidden()

    # Left too long: the page says the session is over, and the typed text is still there.
    last_used(app, people["idva"], timedelta(minutes=limit + 1))
    page.clock.fast_forward(f"{limit + 1}:00")
    ended = page.get_by_role("alertdialog", name="You have been signed out")
    expect(ended).to_be_visible()
    expect(ended).to_contain_text("Anything you typed is still on this page")
    expect(ended.get_by_role("button", name="Stay signed in")).to_be_hidden()
    expect(note).to_have_value("Moved to her sister's")
    page.goto(f"{server}/cases/{reference}")
    expect(page).to_have_url(re.compile(r"/signin"))


def test_near_the_lifetime_limit_the_warning_says_to_save_now(server: str, page: Any, app: Any,
                                                              people: dict[str, Any], make: Any) -> None:
    """When the session's lifetime limit comes before the idle sign-out, the warning says the
    session cannot be extended and offers no "Stay signed in"; when it ends, it says why."""
    expect = playwright_api.expect
    reference = make.case(people["idva"])
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    page.clock.install()
    sign_in(page, server, "idva@example.org")
    opened(app, people["idva"], timedelta(hours=hours, minutes=-3))
    page.goto(f"{server}/cases/{reference}")
    page.clock.fast_forward("01:10")
    warning = page.get_by_role("alertdialog", name="Your session ends soon")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("this session cannot be extended")
    expect(warning.get_by_role("button", name="Stay signed in")).to_be_hidden()
    opened(app, people["idva"], timedelta(hours=hours, minutes=1))  # the server's clock moves on too
    page.clock.fast_forward("02:00")
    ended = page.get_by_role("alertdialog", name="You have been signed out")
    expect(ended).to_contain_text(f"{hours} hours after you signed in")
    expect(ended.get_by_role("link", name="Sign in again")).to_be_visible()
    assert [r.end_reason for r in session_rows(app, people["idva"])] == ["lifetime reached"]


def test_signing_out_in_one_tab_hides_the_case_in_another(server: str, page: Any, app: Any,
                                                          people: dict[str, Any], make: Any) -> None:
    """Two tabs of the same browser: signing out in one hides the case page open in the other,
    so a shared office machine is not left showing a case."""
    expect = playwright_api.expect
    reference = make.case(people["idva"])
    sign_in(page, server, "idva@example.org")
    page.goto(f"{server}/cases/{reference}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(reference)
    other = page.context.new_page()
    other.goto(f"{server}/")
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("Sign in to riskhub")
    notice = page.get_by_role("alertdialog", name="You have signed out")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("this page's contents are hidden")
    expect(page.locator("#main-content")).to_be_hidden()
    expect(heading).to_be_hidden()
    notice.get_by_role("link", name="Sign in again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to riskhub")


def test_a_sign_out_that_never_reached_riskhub_hides_nothing_in_another_tab(server: str, page: Any, app: Any,
                                                                          people: dict[str, Any], make: Any) -> None:
    """Signing out in one tab while the connection is down: the session is still live, so the
    other tab keeps showing the case rather than claiming a sign-out that did not happen; once the
    sign-out does reach riskhub, the other tab hides the case."""
    expect = playwright_api.expect
    reference = make.case(people["idva"])
    sign_in(page, server, "idva@example.org")
    page.goto(f"{server}/cases/{reference}")
    heading = page.get_by_role("heading", level=1)
    other = page.context.new_page()
    other.goto(f"{server}/")
    other.route("**/signout", lambda route: route.abort("connectionfailed"))
    other.get_by_role("button", name="Sign out").click()
    other.wait_for_timeout(1000)
    expect(page.get_by_role("alertdialog")).to_be_hidden()
    expect(heading).to_be_visible()
    expect(heading).to_contain_text(reference)
    assert [r.ended_at for r in session_rows(app, people["idva"])] == [None]
    other.unroute("**/signout")
    other.goto(f"{server}/")
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("Sign in to riskhub")
    expect(page.get_by_role("alertdialog", name="You have signed out")).to_be_visible()
    expect(heading).to_be_hidden()
    assert [r.ended_at is not None for r in session_rows(app, people["idva"])] == [True]


def test_a_tab_asks_the_server_before_saying_the_session_is_over(server: str, page: Any, app: Any,
                                                                people: dict[str, Any]) -> None:
    """A tab whose own clock says the session is over first asks the server: used meanwhile
    elsewhere, the session is still live, and the tab says nothing of a sign-out. Asking does not
    itself keep the session."""
    expect = playwright_api.expect
    limit = app.config["SESSION_IDLE_MINUTES"]
    page.clock.install()
    sign_in(page, server, "idva@example.org")
    page.wait_for_load_state("networkidle")  # the page's own requests (its icon) are done
    last_used(app, people["idva"], timedelta(minutes=2))  # used elsewhere two minutes ago
    page.clock.fast_forward(f"{limit + 1}:00")
    page.wait_for_timeout(500)
    expect(page.get_by_role("alertdialog")).to_be_hidden()
    [row] = session_rows(app, people["idva"])
    assert row.ended_at is None and utcnow() - as_utc(row.last_seen_at) > timedelta(seconds=100)


def test_stay_signed_in_says_when_riskhub_cannot_be_reached(server: str, page: Any, app: Any,
                                                             people: dict[str, Any]) -> None:
    """If the connection fails, "Stay signed in" says so rather than doing nothing; pressed
    again once riskhub answers, it keeps the session."""
    expect = playwright_api.expect
    limit = app.config["SESSION_IDLE_MINUTES"]
    page.clock.install()
    sign_in(page, server, "idva@example.org")
    page.clock.fast_forward(f"{limit - 1}:30")
    warning = page.get_by_role("alertdialog", name="You will be signed out soon")
    expect(warning).to_be_visible()
    page.route("**/session/keep-alive", lambda route: route.abort("connectionfailed"))
    warning.get_by_role("button", name="Stay signed in").click()
    problem = warning.get_by_text("riskhub could not be reached")
    expect(problem).to_be_visible()
    expect(problem).to_be_focused()
    page.unroute("**/session/keep-alive")
    last_used(app, people["idva"], timedelta(minutes=limit - 1))
    warning.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    assert seen_recently(app, people["idva"])
