"""Practitioners and a chair, in a real Chromium: from a new case to the minutes of its meeting."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.browser.conftest import BROWSER_MARKS, answer_all, nav, playwright_api, sign_in, sign_out

pytestmark = BROWSER_MARKS


def test_case_from_both_services_to_the_meeting_minutes(server: str, page: Any, people: dict[str, Any]) -> None:
    expect = playwright_api.expect
    today = date.today().isoformat()

    # The IDVA opens a case, with the duplicate check passing silently.
    sign_in(page, server, "idva@example.org")
    nav(page, "Cases").click()
    page.get_by_role("link", name="Start a new case").click()
    page.get_by_label("Survivor's first name").fill("Noor")
    page.get_by_label("Survivor's last name").fill("Haddad")
    page.get_by_label("First name of the person causing harm").fill("Sami")
    page.get_by_label("Last name of the person causing harm").fill("Haddad")
    page.get_by_label("Survivor's current address").fill("3 Hidden Mews")
    page.get_by_role("button", name="Create case").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Case RH-")
    reference = heading.inner_text().removeprefix("Case ")

    # Her assessment, then involve the programme.
    page.get_by_role("link", name="Record a survivor-side assessment").click()
    page.get_by_label("Date of the assessment").fill(today)
    answer_all(page, "survivor", yes=15)
    page.get_by_role("button", name="Submit assessment").click()
    expect(page.locator(".risk-panel").first).to_contain_text("High")
    page.get_by_label("Agency to involve").select_option(label="Change Programme")
    page.get_by_role("button", name="Involve this agency").click()
    sign_out(page)

    # The programme sees no contact compartment, assesses him and records a missed session.
    sign_in(page, server, "programme@example.org")
    page.goto(f"{server}/cases/{reference}")
    expect(page.get_by_text("Do not disclose to the person causing harm")).to_be_visible()
    expect(page.get_by_text("3 Hidden Mews")).to_have_count(0)
    page.get_by_role("link", name="Record a perpetrator-side assessment").click()
    page.get_by_label("Date of the assessment").fill(today)
    answer_all(page, "perpetrator")
    page.get_by_role("group", name="Overall judgement of the risk he poses").get_by_label("Medium").check()
    page.get_by_role("group", name="Does he have access to firearms").get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Submit assessment").click()
    page.get_by_role("link", name="Record a programme event").click()
    page.get_by_label("Missed a session").check()
    page.get_by_label("Date it happened").fill(today)
    page.get_by_role("button", name="Record event").click()
    expect(page.locator(".notification--success")).to_contain_text("Event recorded")
    sign_out(page)

    # The IDVA is alerted, sees both sides disagree, and refers the case.
    sign_in(page, server, "idva@example.org")
    expect(page.get_by_text("New from the programme")).to_be_visible()
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_text("The two services disagree on the level of risk")).to_be_visible()
    expect(page.locator("svg.chart")).to_be_visible()
    page.get_by_role("button", name="Mark as seen").click()
    page.get_by_role("link", name="Refer to the meeting").click()
    page.get_by_label("Given", exact=True).check()
    page.get_by_role("button", name="Refer to the meeting").click()
    expect(page.locator(".notification--success")).to_contain_text("in the queue for the next meeting")
    sign_out(page)

    # The chair schedules a meeting, builds the agenda and runs it.
    sign_in(page, server, "chair@example.org")
    nav(page, "Meetings").click()
    page.get_by_role("link", name="Schedule a meeting").click()
    page.get_by_label("Date", exact=True).fill((date.today() + timedelta(days=1)).isoformat())
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("Venue").fill("Town Hall, Room 1")
    for agency in ("Riverside IDVA", "Change Programme", "County Police"):
        page.get_by_label(agency).check()
    page.get_by_role("button", name="Schedule meeting").click()
    page.get_by_role("button", name="Add all waiting referrals").click()
    expect(page.locator("table")).to_contain_text(reference)
    page.get_by_role("button", name="Start the meeting").click()
    page.get_by_role("button", name="I have read and accept the confidentiality statement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {reference}")
    page.get_by_label("Discussion summary (shared with every agency)").fill("Escalating since separation.")
    page.get_by_label("Who informs the survivor of the outcome").fill("IDVA")
    page.get_by_role("button", name="Save minutes").click()
    expect(page.locator(".notification--success")).to_contain_text("Minutes saved")
    page.get_by_label("Action", exact=True).fill("Flag the address for urgent response")
    page.get_by_label("Owner agency").select_option(label="Riverside IDVA")
    page.get_by_label("Deadline").fill((date.today() + timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Add action").click()
    expect(page.locator(".notification--success")).to_contain_text("Action agreed")
    page.get_by_role("button", name="Mark heard and go to the next case").click()
    page.get_by_role("button", name="Close the meeting and produce minutes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Minutes of joint risk meeting")
    expect(page.get_by_text("Escalating since separation.")).to_be_visible()
    expect(page.get_by_role("link", name="Download the minutes as PDF")).to_be_visible()
    sign_out(page)

    # The owner agency sees and updates its action.
    sign_in(page, server, "idva@example.org")
    nav(page, "My actions").click()
    page.get_by_role("link", name="My agency's actions").click()
    page.get_by_role("link", name="Flag the address for urgent response").click()
    page.get_by_label("Done", exact=True).check()
    page.get_by_label("Note").fill("Flagged on the police system")
    page.get_by_role("button", name="Save the update").click()
    expect(page.locator(".notification--success")).to_contain_text("Action updated")
