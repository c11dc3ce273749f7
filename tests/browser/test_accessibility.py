"""WCAG 2.2 A and AA rules checked by axe-core in Chromium on the pages each kind of user works in.

axe-core (Deque's rule engine, shipped inside the axe-playwright-python wheel) runs in the page
as it is drawn: labels, names of buttons and links, contrast, landmarks, ARIA use, headings.
Rules it cannot decide (contrast over an image, say) come back as "incomplete" and are not
counted; everything it reports as a violation fails the test with the rule and the element.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from tests.browser.conftest import BROWSER_MARKS, sign_in, sign_out
from tests.test_meetings import start_and_confirm, world

pytestmark = BROWSER_MARKS

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _axe_source() -> str:
    try:
        return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        pytest.skip("axe-core is not installed (the test extra brings axe-playwright-python)")


def violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.2 A/AA violations on the page as drawn, one line per element."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())  # through DevTools, so the page's CSP does not apply
    found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                          ".then(r => r.violations.map(v => v.nodes.map(n => v.id + ': ' + v.help + ' at '"
                          " + n.target.join(' ')).join('\\n')))", WCAG_22_AA)
    return [line for group in found for line in group.split("\n") if line]


def check(page: Any, url: str, problems: dict[str, list[str]], *, heading: str | None = None) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    if heading is not None:
        assert heading in page.get_by_role("heading", level=1).inner_text()
    found = violations(page)
    if found:
        problems[url] = found


def submit_empty(page: Any, url: str, button: str, problems: dict[str, list[str]]) -> None:
    """The form sent with nothing filled in: the page with its error summary and messages."""
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    page.get_by_role("button", name=button).click()
    assert page.locator(".error-summary").count() == 1, url
    found = violations(page)
    if found:
        problems[f"{url} (with errors)"] = found


def test_every_kind_of_user_s_pages_pass_axe_core_wcag_22_aa(app: Any, client: Any, auth: Any, server: str,
                                                             page: Any, people: dict[str, Any], make: Any) -> None:
    w = world(app, client, auth, people, make, contact={"address": "1 Quiet Lane", "phone": "07700 900999"})
    item = start_and_confirm(app, client, w)
    meeting, case = w["meeting"], w["adult"]
    problems: dict[str, list[str]] = {}

    check(page, f"{server}/signin", problems, heading="Sign in")
    page.get_by_label("Email address").fill("idva@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator(".error-summary").count() == 1
    if found := violations(page):
        problems["/signin (refused)"] = found

    sign_in(page, server, "idva@example.org")
    for url in ("/", "/cases/", f"/cases/{case}", f"/cases/{case}/contact", f"/cases/{case}/refer",
                f"/cases/{case}/assessments/new/survivor", "/actions/mine", "/actions/agency", "/account/",
                "/account/password", "/partner-contact", "/calendar"):
        check(page, server + url, problems)
    submit_empty(page, f"{server}/cases/new", "Create case", problems)
    submit_empty(page, f"{server}/cases/{case}/assessments/new/survivor", "Submit assessment", problems)
    submit_empty(page, f"{server}/cases/{case}/sharing/new", "Save the record", problems)
    sign_out(page)

    sign_in(page, server, "programme@example.org")  # the perpetrator-facing view of the same case
    check(page, f"{server}/cases/{case}", problems)
    submit_empty(page, f"{server}/cases/{case}/events/new", "Record event", problems)
    submit_empty(page, f"{server}/cases/{case}/assessments/new/perpetrator", "Submit assessment", problems)
    sign_out(page)

    # A programme's chair and admin: the agenda without Remove buttons, their own agency's accounts.
    make.user("programme-lead@example.org", people["programme_agency"], ("chair", "practitioner", "admin"))
    sign_in(page, server, "programme-lead@example.org")
    for url in (f"/meetings/{meeting}", "/admin/", "/admin/users"):
        check(page, server + url, problems)
    sign_out(page)

    sign_in(page, server, "chair@example.org")
    for url in ("/meetings/", f"/meetings/{meeting}", f"/meetings/{meeting}/run?item={item}",
                f"/meetings/{meeting}/attendance", "/referrals"):
        check(page, server + url, problems)
    submit_empty(page, f"{server}/meetings/new", "Schedule meeting", problems)
    sign_out(page)

    sign_in(page, server, "auditor@example.org")
    for url in ("/audit/", f"/audit/search?case_ref={case}", f"/audit/cases/{case}", "/audit/reviews/emergency"):
        check(page, server + url, problems)
    sign_out(page)

    sign_in(page, server, "admin@example.org")
    for url in ("/admin/", "/admin/users", "/partnerships"):
        check(page, server + url, problems)
    submit_empty(page, f"{server}/admin/users/new", "Add user", problems)
    submit_empty(page, f"{server}/partnerships/new", "Set up partnership", problems)

    assert problems == {}, "\n".join(f"{url}:\n  " + "\n  ".join(lines) for url, lines in problems.items())
