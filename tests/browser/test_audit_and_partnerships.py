"""In Chromium: an auditor answers "who saw this case and why"; an admin sets up a partnership."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.browser.conftest import BROWSER_MARKS, nav, playwright_api, sign_in, sign_out
from tests.conftest import post_form

pytestmark = BROWSER_MARKS


def test_auditor_finds_who_saw_a_case_reviews_emergency_access_and_exports(
        server: str, page: Any, people: dict[str, Any], make: Any, app: Any) -> None:
    expect = playwright_api.expect
    reference = make.case(people["idva"], survivor=("Leah", "Secretname", None))
    client = app.test_client()  # a police officer takes emergency access and reads the case
    post_form(client, "/signin", {"email": "police@example.org", "password": "correct-horse-battery-7"})
    post_form(client, f"/cases/{reference}/emergency-access",
              {"reason": "Officers at the door; need to know who else is involved now"})
    client.get(f"/cases/{reference}")

    sign_in(page, server, "auditor@example.org")
    nav(page, "Access log").click()
    page.get_by_label("Case reference").fill(reference)
    page.get_by_role("button", name="Search the access log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Search the access log")
    page.get_by_role("link", name=reference).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Who saw case {reference}")
    timeline = page.locator("main")
    expect(timeline).to_contain_text("Police")
    expect(timeline).to_contain_text("emergency access")
    expect(timeline).not_to_contain_text("Secretname")  # auditors see the record of access, never content

    nav(page, "Access log").click()
    page.get_by_role("link", name="Emergency access").click()
    page.get_by_role("link", name=f"Review access to {reference}").click()
    page.get_by_label("Justified", exact=True).check()
    page.get_by_label("Why you decided this").fill("Confirmed with the duty inspector")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("main")).to_contain_text("Justified")

    nav(page, "Access log").click()
    page.get_by_label("Case reference").fill(reference)
    page.get_by_role("button", name="Search the access log").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these results as CSV").click()
    assert reference in download.value.path().read_text()
    sign_out(page)


def test_admin_sets_up_a_partnership_and_protocol_then_enrolment_reaches_the_survivor_service(
        server: str, page: Any, people: dict[str, Any], make: Any) -> None:
    expect = playwright_api.expect
    sign_in(page, server, "admin@example.org")
    nav(page, "Partnerships").click()
    page.get_by_role("link", name="Set up a partnership").click()
    page.get_by_label("Name of the partnership").fill("Change with Riverside")
    page.get_by_label("Perpetrator programme").select_option(label="Change Programme")
    page.get_by_label("Riverside IDVA").check()
    page.get_by_label("External specialist service under agreement").check()
    page.get_by_label("Most days from a man's enrolment").fill("5")
    page.get_by_role("button", name="Set up partnership").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change with Riverside")

    nav(page, "Partnerships").click()
    page.get_by_role("link", name="Record a protocol").click()
    page.get_by_label("Title").fill("Change and Riverside sharing protocol")
    page.get_by_label("Riverside IDVA").check()
    page.get_by_label("Change Programme").check()
    page.get_by_label("Takes effect on").fill((date.today() - timedelta(days=1)).isoformat())
    page.get_by_label("Review by").fill((date.today() + timedelta(days=365)).isoformat())
    page.get_by_label("Programme attendance: programme to survivor services").check()
    page.get_by_label("Risk events: disclosures and concerning behaviour: programme to survivor services").check()
    page.get_by_label("Whether partner contact is in place (never its content): survivor services to the "
                      "programme").check()
    page.get_by_role("button", name="Record protocol").click()
    expect(page.locator("table").nth(1)).to_contain_text("Change and Riverside sharing protocol")
    sign_out(page)

    reference = make.case(people["police"], involve=(people["programme_agency"],))
    sign_in(page, server, "programme@example.org")
    page.goto(f"{server}/cases/{reference}")
    page.get_by_role("link", name="Record a programme event").click()
    page.get_by_label("Enrolled on the programme").check()
    page.get_by_label("Date it happened").fill(date.today().isoformat())
    page.get_by_role("button", name="Record event").click()
    expect(page.locator("main")).to_contain_text("Partner contact: not in place")
    sign_out(page)

    sign_in(page, server, "idva@example.org")
    nav(page, "Partner contact").click()
    page.get_by_role("link", name=reference).click()
    page.get_by_label("Accepted").check()
    page.get_by_label("Date", exact=True).fill(date.today().isoformat())
    page.get_by_label("Safety planning").fill("Code word agreed with her")
    page.get_by_role("button", name="Record attempt").click()
    expect(page.locator("main")).to_contain_text("Contact in place")
