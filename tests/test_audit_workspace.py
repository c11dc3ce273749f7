"""The auditor's workspace, used as an auditor would: who saw a case and why, searches, queues, CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.audit import AccessLogEntry
from riskhub.models.cases import EmergencyAccess
from tests.conftest import post_form
from tests.test_audit_chain import tamper

REASON = "Police attended a report of a threat to kill at the address tonight"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"AUDIT_PAGE_SIZE": 5, "AUDIT_BULK_CASES": 2, "AUDIT_EXPORT_MAX_ROWS": 4}


def entries(app: Any, action: str) -> list[AccessLogEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == action)
                                       .order_by(AccessLogEntry.seq)))


def errors_on(html: str) -> list[str]:
    return re.findall(r'<li><a href="#([a-z_]+)">', html)


def test_only_auditors_reach_the_workspace(app, client, auth, people):
    auth.login("idva@example.org")
    assert "Access log" not in client.get("/").get_data(as_text=True)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/search?case_ref=RH-2026-0001").status_code == 403
    assert [e.outcome for e in entries(app, "audit.denied")] == ["denied", "denied"]
    auth.logout()
    auth.login("auditor@example.org")
    assert 'href="/audit/"' in client.get("/").get_data(as_text=True)
    page = client.get("/audit/")
    assert page.status_code == 200 and "Chain status" in page.get_data(as_text=True)


def test_who_saw_this_case_and_why_without_any_case_content(app, client, auth, people, make):
    reference = make.case(people["idva"], survivor=("Marigold", "Quince", None), involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    client.get(f"/cases/{reference}")
    auth.logout()
    auth.login("police@example.org")
    post_form(client, f"/cases/{reference}/emergency-access", {"reason": REASON})
    client.get(f"/cases/{reference}")
    auth.logout()
    auth.login("auditor@example.org")
    page = client.get(f"/audit/cases/{reference}").get_data(as_text=True)
    assert "Who saw case " + reference in page
    assert "Programme" in page and "Change Programme" in page and "case.view" in page
    assert "Police" in page and "emergency access" in page and "practitioner" in page
    shown = re.search(r"Change Programme</td><td>practitioner</td><td>case.view</td>\s*<td>([^<]*)</td>", page)
    assert "people" in shown.group(1) and "survivor_contact" not in shown.group(1)  # the firewall, on record
    assert "Marigold" not in page and "Quince" not in page and REASON not in page
    timeline = entries(app, "audit.case_timeline")
    assert timeline[-1].case_ref == reference


def test_search_by_user_pages_by_keyset_and_exports_escaped_csv(app, client, auth, people, make):
    reference = make.case(people["idva"])
    with app.app_context():
        for n in range(9):
            audit.record("case.view", actor=audit.actor_for(db.session.get(User, people["idva"])),
                         case_ref=reference, purpose="=HYPERLINK(\"http://evil\")" if n == 8 else None)
        db.session.commit()
    auth.login("auditor@example.org")
    first = client.get("/audit/search?user=IDVA@example.org&action=case.view")
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    seqs = [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", html)]
    assert len(seqs) == 5 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'<a href="([^"]+)">Older entries</a>', html).group(1).replace("&amp;", "&")
    last_page = client.get(older).get_data(as_text=True)
    second = [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", last_page)]
    assert len(second) == 4 and max(second) < min(seqs)  # the other 4 of 9, no overlap
    assert "Older entries" not in last_page

    export = client.get("/audit/export?user=idva@example.org&action=case.view")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][0] == "Entry" and len(rows) == 1 + 4  # capped at AUDIT_EXPORT_MAX_ROWS
    assert rows[1][11] == "'=HYPERLINK(\"http://evil\")"
    assert "before=" in export.headers["X-Next-Part"]
    logged = entries(app, "audit.export")[-1]
    assert logged.purpose.startswith("csv 4 entries") and logged.object_id == str(people["idva"])


@pytest.mark.parametrize(("query", "field", "message"), [
    ("user=nobody@example.org", "user", "No user has that email address"),
    ("date_from=2026-02-31", "date_from", "From date must be a real date"),
    ("date_from=yesterday", "date_from", "From date must be a real date"),
    ("date_from=2024-01-01&date_to=2025-06-30", "date_to", "Choose dates no more than 366 days apart"),
    ("date_from=2025-03-02&date_to=2025-03-01", "date_to", "To date must be the same as or after the from date"),
    ("case_ref=%3Cscript%3E", "case_ref", "Enter a case reference like RH-2026-0042"),
    ("case_ref=%C3%9F%C3%9F%C3%9F%C3%9F%C3%9F-2026-12345678", "case_ref", "Enter a case reference like RH-2026-0042"),
    ("action=case.view%27%20OR%201%3D1", "action", "Enter an action like case.view"),
])
def test_bad_filters_answer_400_with_the_error_beside_the_field(client, auth, people, query, field, message):
    auth.login("auditor@example.org")
    response = client.get(f"/audit/search?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and errors_on(html) == [field]
    assert f'id="{field}-error"' in html and message in html


def test_parameters_that_are_not_filters_are_left_out_of_the_links(client, auth, people):
    auth.login("auditor@example.org")
    for _ in range(6):  # more entries than a page, so there is a next page
        client.get("/audit/")
    response = client.get("/audit/search?action=audit.*&endpoint=x&_method=POST&_scheme=javascript&_external=1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Older entries" in html
    links = re.findall(r'href="(/audit/(?:search|export)\?[^"]*)"', html)
    assert links and all("action=audit.*" in link.replace("%2A", "*") for link in links)
    assert not any(word in link for link in links for word in ("endpoint", "_method", "_scheme", "_external"))


def test_malformed_paging_cursor_is_a_400(client, auth, people):
    auth.login("auditor@example.org")
    assert client.get("/audit/search?before=abc").status_code == 400
    assert client.get("/audit/search?before=99999999999999999999999").status_code == 400
    assert client.get("/audit/search?before=12").status_code == 400  # an entry number is not a cursor
    assert client.get("/audit/search?before=%C3%A9t%C3%A9").status_code == 400


def test_a_programmes_auditor_is_shown_no_place_in_the_whole_log(app, client, auth, people, make):
    """Entry numbers count every agency's entries: the gaps between a programme's own would tell
    its auditor how busy the survivor-side services were in between. Pages, links, the CSV, its
    name and the record of the export carry none; the cursor still pages correctly."""
    make.user("programme-ig@example.org", people["programme_agency"], ("auditor",))
    reference = make.case(people["idva"])
    with app.app_context():
        programme = audit.actor_for(db.session.get(User, people["programme"]))
        idva = audit.actor_for(db.session.get(User, people["idva"]))
        for n in range(9):
            audit.record("case.view", actor=programme, case_ref=reference)
            for _ in range(n):  # survivor-side activity between the programme's own entries
                audit.record("case.view", actor=idva, case_ref=reference)
        db.session.commit()
        numbers = {str(e.seq) for e in db.session.scalars(select(AccessLogEntry))}
    auth.login("programme-ig@example.org")
    first = client.get("/audit/search?action=case.view").get_data(as_text=True)
    assert '<th scope="col">Entry</th>' not in first and "<tr><td>Change Programme" not in first
    assert first.count("<td>case.view</td>") == 5 and "Riverside IDVA" not in first
    older = re.search(r'<a href="([^"]+)">Older entries</a>', first).group(1).replace("&amp;", "&")
    cursor = re.search(r"before=([^&]+)", older).group(1)
    assert cursor not in numbers and not cursor.isdigit()
    second = client.get(older).get_data(as_text=True)
    assert second.count("<td>case.view</td>") == 4 and "Older entries" not in second  # the other 4 of 9

    for page in (f"/audit/cases/{reference}", f"/audit/users/{people['programme']}"):
        html = client.get(page).get_data(as_text=True)
        assert '<th scope="col">Entry</th>' not in html
        assert all(c not in numbers for c in re.findall(r"before=([^&\"]+)", html)), page

    export = client.get("/audit/export?action=case.view")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][0] == "Time (UTC)" and len(rows) == 1 + 4
    assert all(not row[0].isdigit() for row in rows[1:])
    name = re.search(r'filename="access-log-(.+)\.csv"', export.headers["Content-Disposition"]).group(1)
    assert re.fullmatch(r"\d{8}T\d{6}Z-\d{8}T\d{6}Z", name)
    assert re.search(r"before=([^&]+)", export.headers["X-Next-Part"]).group(1) not in numbers
    logged = entries(app, "audit.export")[-1]
    assert logged.purpose.startswith(f"csv 4 entries {name};")
    auth.logout()

    # The whole log's auditor still reads each entry's number.
    auth.login("auditor@example.org")
    whole = client.get("/audit/search?action=case.view").get_data(as_text=True)
    shown = re.findall(r"<tr><td>(\d+)</td>", whole)
    assert len(shown) == 5 and set(shown) <= numbers


def test_entries_of_failed_requests_are_found_and_marked_not_completed(app, client, auth, people):
    """An entry replayed after its request failed is found by its own outcome and shown as not
    completed, not as an allowed change."""
    with app.app_context():
        idva = db.session.get(User, people["idva"])
        audit.record("case.update", actor=audit.actor_for(idva), outcome=audit.FAILED, case_ref="RH-2026-0042")
        audit.record("case.view", actor=audit.actor_for(idva), case_ref="RH-2026-0042")
        db.session.commit()
    auth.login("auditor@example.org")
    page = client.get("/audit/search?outcome=failed").get_data(as_text=True)
    assert "<td>case.update</td>" in page and "Not completed</span>" in page and "<td>case.view</td>" not in page
    allowed = client.get("/audit/search?outcome=allowed&case_ref=RH-2026-0042").get_data(as_text=True)
    assert "<td>case.view</td>" in allowed and "Not completed</span>" not in allowed


def test_emergency_access_review_records_the_decision(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("police@example.org")
    post_form(client, f"/cases/{reference}/emergency-access", {"reason": REASON})
    client.get(f"/cases/{reference}")
    auth.logout()
    auth.login("auditor@example.org")
    queue = client.get("/audit/reviews/emergency").get_data(as_text=True)
    assert reference in queue and "Review" in queue
    with app.app_context():
        grant_id = db.session.scalars(select(EmergencyAccess.id)).one()
    url = f"/audit/reviews/emergency/{grant_id}"
    page = client.get(url).get_data(as_text=True)
    assert REASON in page and "case.view" in page  # the reason, and what was done with the access
    missing = post_form(client, url, {"outcome": "justified", "note": ""})
    assert missing.status_code == 400 and 'href="#note"' in missing.get_data(as_text=True)
    done = post_form(client, url, {"outcome": "not_justified", "note": "No call-out on record for that night"})
    assert done.status_code == 302
    with app.app_context():
        grant = db.session.get(EmergencyAccess, grant_id)
        assert grant.review_outcome == "not_justified" and grant.reviewer_id == people["auditor"]
        assert grant.review_note == "No call-out on record for that night"
        assert b"No call-out" not in bytes(grant.review_note_enc)
    assert entries(app, "audit.emergency_review")[-1].purpose == "not_justified"
    assert "Not justified" in client.get("/audit/reviews/emergency").get_data(as_text=True)


def test_review_queues_show_outsiders_denied_and_bulk_access(app, client, auth, people, make):
    references = [make.case(people["idva"]) for _ in range(3)]
    auth.login("police@example.org")
    post_form(client, f"/cases/{references[0]}/emergency-access", {"reason": REASON})
    client.get(f"/cases/{references[0]}")
    auth.logout()
    auth.login("programme@example.org")
    assert client.get(f"/cases/{references[1]}").status_code == 403
    auth.logout()
    auth.login("idva@example.org")
    for reference in references:
        client.get(f"/cases/{reference}")
    auth.logout()
    with app.app_context():  # an outsider's read whose request then failed is still for review
        police = db.session.get(User, people["police"])
        audit.record("case.view", actor=audit.actor_for(police), outcome=audit.FAILED, case_ref=references[2],
                     sections=("summary",))
        db.session.commit()
    auth.login("auditor@example.org")
    outsiders = client.get("/audit/reviews/outsiders").get_data(as_text=True)
    assert references[0] in outsiders and "Police" in outsiders and "Idva" not in outsiders
    assert references[2] in outsiders
    denied = client.get("/audit/reviews/denied").get_data(as_text=True)
    assert references[1] in denied and "Programme" in denied
    bulk = client.get("/audit/reviews/bulk").get_data(as_text=True)
    assert re.search(r"Idva</a></td><td>Riverside IDVA</td><td>3</td>", bulk)
    assert "Police</a>" not in bulk


def test_a_programmes_duplicate_checks_are_for_review_and_others_are_not(app, client, auth, people, make):
    """Typing her name and date of birth into "Start a new case" asks whether she is known: from a
    perpetrator programme that is in the outsiders queue (and counts towards bulk access); from a
    survivor-side or police worker it is the ordinary check before opening a case."""
    from tests.test_cases import new_case_form

    reference = make.case(people["idva"], survivor=("Zoë", "O'Brien-Nakamura", date(1990, 5, 17)))
    for who in ("programme@example.org", "police@example.org"):
        auth.login(who)
        assert post_form(client, "/cases/new", new_case_form()).status_code == 400  # warned, nothing stored
        auth.logout()
    with app.app_context():
        checks = entries(app, "case.duplicate_check")
        assert sorted(e.agency_id == people["programme_agency"] for e in checks) == [False, True]
    auth.login("auditor@example.org")
    outsiders = client.get("/audit/reviews/outsiders").get_data(as_text=True)
    assert reference in outsiders and "Programme</a>" in outsiders and "Police</a>" not in outsiders


def _last(weekday: int, hour: int) -> datetime:
    zone = ZoneInfo("Europe/London")
    day = datetime.now(zone).date() - timedelta(days=1)
    while day.weekday() != weekday:
        day -= timedelta(days=1)
    return datetime.combine(day, time(hour), zone)


def test_out_of_hours_queue_flags_nights_and_weekends_only(app, client, auth, people):
    with app.app_context():
        actor = audit.actor_for(db.session.get(User, people["idva"]))
        audit.record("case.view", actor=actor, case_ref="RH-2026-0901", at=_last(5, 3))  # Saturday 03:00
        audit.record("case.view", actor=actor, case_ref="RH-2026-0902", at=_last(1, 10))  # Tuesday 10:00
        audit.record("case.view", actor=actor, case_ref="RH-2026-0903", at=_last(2, 22))  # Wednesday 22:00
        db.session.commit()
    auth.login("auditor@example.org")
    page = client.get("/audit/reviews/out-of-hours").get_data(as_text=True)
    assert "RH-2026-0901" in page and "RH-2026-0903" in page and "RH-2026-0902" not in page


def test_dashboard_shows_entries_checkpoint_and_last_verification(app, client, auth, people, make, runner):
    app.config["AUDIT_SIGNING_KEY"] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    auth.login("auditor@example.org")
    page = client.get("/audit/").get_data(as_text=True)
    with app.app_context():
        checkpoint_seq = entries(app, "audit.checkpoint")[-1].seq
    assert re.search(rf"Last signed checkpoint</dt><dd>Entry {checkpoint_seq},", page)
    assert re.search(r"Last verified</dt><dd>[^<]+: intact: \d+ entries, 1 checkpoints", page)
    assert "Emergency access</a>: 0 awaiting a decision" in page
    auth.logout()

    # A programme's auditor reviews their own staff's entries: the chain's verdict, not how many
    # entries the rest of the log holds.
    make.user("programme-ig@example.org", people["programme_agency"], ("auditor",))
    auth.login("programme-ig@example.org")
    scoped = client.get("/audit/").get_data(as_text=True)
    assert "Entries written" not in scoped and f"Entry {checkpoint_seq}," not in scoped
    assert re.search(r"Last signed checkpoint</dt><dd>[^<]*\d{4}[^<]*</dd>", scoped)
    assert re.search(r"Last verified</dt><dd>[^<]+: intact</dd>", scoped)
    assert not re.search(r"\d+ entries", scoped)


def test_dashboard_warns_every_auditor_when_the_last_verification_found_the_log_broken(app, client, auth, people,
                                                                                      make, runner):
    """Both auditors are told the log is broken; only the one reviewing the whole log is told where."""
    auth.login("idva@example.org")
    auth.logout()
    tamper(app, ("UPDATE access_log SET case_ref = 'RH-2026-9999' WHERE seq = 1", {}))
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1
    make.user("programme-ig@example.org", people["programme_agency"], ("auditor",))
    warning = "The last verification found the log broken"
    auth.login("auditor@example.org")
    whole = client.get("/audit/").get_data(as_text=True)
    assert warning in whole and re.search(r"Last verified</dt><dd>[^<]+: broken: entry 1 ", whole)
    auth.logout()
    auth.login("programme-ig@example.org")
    scoped = client.get("/audit/").get_data(as_text=True)
    assert warning in scoped and re.search(r"Last verified</dt><dd>[^<]+: broken</dd>", scoped)
