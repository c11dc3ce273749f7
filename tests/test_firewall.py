"""The safety firewall, tested as an attacker would: plant sentinels in every survivor-only
field, then fetch every page a perpetrator-facing user can reach and find none of them."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.assessments import Assessment
from riskhub.models.events import ProgrammeEvent
from tests.conftest import post_form
from tests.test_cases import perpetrator_answers, survivor_answers

SENTINELS = {
    "contact_address": "SENTINEL-ADDR-7731",
    "contact_phone": "07700 913377",
    "contact_email": "sentinel-mail-7731@example.org",
    "contact_safe_contact": "SENTINEL-SAFE-TIMES-7731",
    "contact_do_not_contact": "SENTINEL-DNC-7731",
    "survivor_language": "SENTINEL-LANG-7731",
    "survivor_ethnicity": "SENTINEL-ETHN-7731",
    "source": "SENTINEL-SOURCE-7731",
    "rationale": "SENTINEL-RATIONALE-7731",
    "notes": "SENTINEL-ASSESSMENT-NOTE-7731",
    "confidential_note": "SENTINEL-CONFIDENTIAL-7731",
}
HREF = re.compile(r'(?:href|action|src)="([^"]+)"')


def plant_sentinels(client: Any, auth: Any) -> str:
    """As the survivor's worker, fill every survivor-only field with a sentinel."""
    auth.login("idva@example.org")
    response = post_form(client, "/cases/new", {
        "survivor_given_name": "Hana", "survivor_family_name": "Kovač", "survivor_date_of_birth": "1992-09-09",
        "perpetrator_given_name": "Ivo", "perpetrator_family_name": "Kovač",
        **{k: v for k, v in SENTINELS.items() if k.startswith(("contact_", "survivor_"))},
    })
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    answers = survivor_answers(15)
    response = post_form(client, f"/cases/{reference}/assessments/new/survivor", {
        "assessed_on": date.today().isoformat(), **answers, "source_injury": SENTINELS["source"],
        "raise_to_high": "y", "rationale": SENTINELS["rationale"], "notes": SENTINELS["notes"],
    })
    assert response.status_code == 302
    post_form(client, f"/cases/{reference}/notes", {"text": SENTINELS["confidential_note"], "confidential": "y"},
              page=f"/cases/{reference}")
    agency_page = client.get(f"/cases/{reference}").get_data(as_text=True)
    programme = re.search(r'<option value="([^"]+)">Change Programme</option>', agency_page).group(1)
    post_form(client, f"/cases/{reference}/agencies", {"agency": programme}, page=f"/cases/{reference}")
    auth.logout()
    return reference


def assert_clean(url: str, response: Any) -> None:
    body = unescape(response.get_data(as_text=True))
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    for name, sentinel in SENTINELS.items():
        assert sentinel not in body, f"{name} leaked on {url}"
        assert sentinel not in headers, f"{name} leaked in headers of {url}"


def crawl(client: Any, start: list[str], limit: int = 300) -> set[str]:
    """Follow every same-site link from the start pages, checking each response."""
    seen: set[str] = set()
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop()
        if url in seen or "/signout" in url:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, url
        assert_clean(url, response)
        if response.mimetype == "text/html":
            for link in HREF.findall(response.get_data(as_text=True)):
                target = urljoin(url, unescape(link))
                parts = urlsplit(target)
                if not parts.netloc or parts.netloc == "localhost":
                    queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


def test_perpetrator_facing_user_finds_no_survivor_only_content(app, client, auth, people):
    reference = plant_sentinels(client, auth)
    auth.login("idva@example.org")
    assert SENTINELS["contact_address"] in client.get(f"/cases/{reference}").get_data(as_text=True)
    auth.logout()

    auth.login("programme@example.org")
    response = post_form(client, f"/cases/{reference}/events/new",
                         {"kind": "disclosure", "occurred_on": date.today().isoformat(), "note": "Said he follows her"})
    assert response.status_code == 302
    post_form(client, f"/cases/{reference}/assessments/new/perpetrator",
              {"assessed_on": date.today().isoformat(), **perpetrator_answers("high")})
    with app.app_context():
        assessment_ids = [a.id for a in db.session.scalars(select(Assessment))]
        event_ids = [e.id for e in db.session.scalars(select(ProgrammeEvent))]

    # Every URL the app knows that takes a case reference, with every id filled in.
    urls = ["/", "/cases/", f"/cases/{reference}"]
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        candidates = [{}]
        if "reference" in rule.arguments:
            candidates = [{"reference": reference}]
        if "side" in rule.arguments:
            candidates = [{**c, "side": s} for c in candidates for s in ("survivor", "perpetrator")]
        if "assessment_id" in rule.arguments:
            candidates = [{**c, "assessment_id": a} for c in candidates for a in assessment_ids]
        if "event_id" in rule.arguments:
            candidates = [{**c, "event_id": e} for c in candidates for e in event_ids]
        for values in candidates:
            if set(rule.arguments) <= set(values):
                with app.test_request_context():
                    from flask import url_for

                    urls.append(url_for(rule.endpoint, **values))
    pages = crawl(client, urls)
    assert f"/cases/{reference}" in pages
    assert any("/assessments/" in p for p in pages), "the survivor-side assessment page was not reached"
    case_page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Do not disclose to the person causing harm" in case_page
    assert "Survivor contact and location" not in case_page

    # Survivor-only pages answer 403 without content; forms that would write there are refused.
    for url in (f"/cases/{reference}/contact", f"/cases/{reference}/survivor"):
        denied = client.get(url)
        assert denied.status_code == 403
        assert_clean(url, denied)
    # Errors never echo survivor data either.
    for url in (f"/cases/{reference}/assessments/{assessment_ids[0]}x", f"/cases/{reference}/nope"):
        assert_clean(url, client.get(url))


def test_survivor_side_sees_programme_events_but_programme_never_sees_survivor_notes(app, client, auth, people):
    reference = plant_sentinels(client, auth)
    auth.login("programme@example.org")
    html = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert SENTINELS["confidential_note"] not in html
    assert "Survivor-confidential" not in html
    # A tampered form cannot put the programme user's note into the confidential compartment.
    post_form(client, f"/cases/{reference}/notes", {"text": "Programme note", "confidential": "y"},
              page=f"/cases/{reference}")
    auth.logout()
    auth.login("idva@example.org")
    html = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert SENTINELS["confidential_note"] in html and "Programme note" in html


def test_a_programme_is_told_a_case_exists_but_not_which_agencies_hold_it(app, client, auth, people, make):
    """A refuge, an IDVA service or a housing team holding her case says where she is or went for
    help: a programme worker's duplicate check, the page for a case not shared with them and the
    emergency access form give the reference and send them to the chair, naming no agency. Staff
    of other agencies are still told who holds it."""
    from tests.test_cases import new_case_form

    refuge = make.agency("Northgate Refuge", "survivor_support")
    make.user("refuge@example.org", refuge)
    reference = make.case(people["idva"], survivor=("Zoë", "O'Brien-Nakamura", date(1990, 5, 17)), involve=(refuge,))
    auth.login("programme@example.org")
    checked = post_form(client, "/cases/new", new_case_form())
    assert checked.status_code == 400
    warned = unescape(checked.get_data(as_text=True))
    assert reference in warned and "Ask the chair of your joint risk meeting" in warned
    not_shared = client.get(f"/cases/{reference}")
    assert not_shared.status_code == 403
    emergency = client.get(f"/cases/{reference}/emergency-access")
    assert emergency.status_code == 200
    for page in (warned, unescape(not_shared.get_data(as_text=True)), unescape(emergency.get_data(as_text=True))):
        assert "Northgate Refuge" not in page and "Riverside IDVA" not in page
        assert "chair of your joint risk meeting" in page
    auth.logout()
    auth.login("police@example.org")
    police_view = unescape(client.get(f"/cases/{reference}").get_data(as_text=True))
    assert "held by: Northgate Refuge, Riverside IDVA" in police_view
    police_check = unescape(post_form(client, "/cases/new", new_case_form()).get_data(as_text=True))
    assert f"{reference}: held by Northgate Refuge, Riverside IDVA" in police_check
