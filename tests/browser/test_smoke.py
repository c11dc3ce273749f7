"""Smoke test in a real Chromium: sign in, dashboard, a case, sign out; the skip link comes first."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import BROWSER_MARKS, nav, playwright_api
from tests.conftest import PASSWORD

pytestmark = BROWSER_MARKS


def demo_cases(make: Any, people: dict[str, Any]) -> list[str]:
    """A few cases the IDVA's agency holds, one shared with the programme, as in the demo data."""
    return [
        make.case(people["idva"], survivor=("Maria", "Lopez", None), perpetrator=("Dan", "Lopez", None),
                  contact={"address": "1 Quiet Lane", "phone": "07700 900999"}),
        make.case(people["idva"], survivor=("Aisha", "Khan", None), perpetrator=("Omar", "Khan", None),
                  involve=(people["programme_agency"],)),
    ]


def test_sign_in_see_a_case_and_sign_out(server: str, page: Any, people: dict[str, Any], make: Any,
                                         tmp_path: Path) -> None:
    """Signed out, / leads to sign-in; the labelled form signs in; Cases opens a case; Sign out ends it."""
    expect = playwright_api.expect
    references = demo_cases(make, people)

    page.goto(f"{server}/")
    expect(page).to_have_url(re.compile(r"/signin"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to riskhub")
    page.get_by_label("Email address").fill("idva@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page).to_have_url(f"{server}/")
    expect(page.get_by_text("Idva, Riverside IDVA")).to_be_visible()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000  # a rendered page, not a blank one

    nav(page, "Cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    expect(nav(page, "Cases")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name=references[0], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {references[0]}")
    expect(page.get_by_text("Maria Lopez").first).to_be_visible()
    expect(page.get_by_text("1 Quiet Lane")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to riskhub")
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(f"{server}/cases/{references[0]}")  # the case is out of reach once signed out
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to riskhub")
    expect(page.get_by_text("Maria Lopez")).to_have_count(0)


def test_skip_link_is_the_first_tab_stop(server: str, page: Any, people: dict[str, Any]) -> None:
    """With the keyboard only: sign in, then the first Tab shows the skip link, which jumps into main."""
    expect = playwright_api.expect
    page.goto(f"{server}/signin")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to main content")
    page.keyboard.press("Tab")  # past the header's "riskhub" link
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email address")).to_be_focused()
    page.keyboard.type("idva@example.org")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")

    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("Skip to main content")
    expect(skip).to_have_attribute("href", "#main-content")
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 50, "skip link not on screen"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main-content$"))
    page.keyboard.press("Tab")  # the next stop is inside main, past the header's navigation
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
