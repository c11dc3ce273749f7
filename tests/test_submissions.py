"""A form that creates something is acted on once: a double click or a resubmission from the
browser's history saves nothing twice, and says the first submission was saved."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select

from riskhub.extensions import db
from riskhub.models.events import ProgrammeEvent
from riskhub.models.sharing import SharingRecord
from tests.conftest import csrf_token

TODAY = date.today().isoformat()
_TOKEN = re.compile(r'name="submission"[^>]*?value="([^"]+)"')


def form_fields(client: Any, url: str) -> dict[str, str]:
    """The hidden fields a browser would send with the form on `url`."""
    html = client.get(url).get_data(as_text=True)
    token = _TOKEN.search(html)
    assert token, f"{url} has no once-only token"
    return {"csrf_token": csrf_token(html), "submission": token.group(1)}


def count(app: Any, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_sharing_record_posted_twice_is_saved_once(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    url = f"/cases/{reference}/sharing/new"
    data = {**form_fields(client, url), "decision": "shared", "with_agency": str(people["police_agency"]),
            "decided_on": TODAY, "legal_basis": "safeguarding", "consent": "given",
            "information": "Bail conditions", "reason": "Her safety"}
    first = client.post(url, data=data)
    second = client.post(url, data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert count(app, SharingRecord) == 1
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "This form was already submitted and saved: it has not been saved a second time." in page


def test_a_programme_event_posted_twice_is_recorded_once(app, client, auth, people, make):
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    url = f"/cases/{reference}/events/new"
    data = {**form_fields(client, url), "kind": "disclosure", "occurred_on": TODAY, "note": "New threat"}
    assert client.post(url, data=data).status_code == 302
    assert client.post(url, data=data).status_code == 302
    assert count(app, ProgrammeEvent) == 1
    # A new form is a new submission.
    data = {**form_fields(client, url), "kind": "missed_session", "occurred_on": TODAY, "note": ""}
    assert client.post(url, data=data).status_code == 302
    assert count(app, ProgrammeEvent) == 2


def test_a_refused_submission_can_be_corrected_and_saved(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    url = f"/cases/{reference}/sharing/new"
    data = {**form_fields(client, url), "decision": "shared", "with_agency": str(people["police_agency"]),
            "decided_on": TODAY, "legal_basis": "safeguarding", "consent": "given",
            "information": "Bail conditions", "reason": ""}
    refused = client.post(url, data=data)
    assert refused.status_code == 400
    assert _TOKEN.search(refused.get_data(as_text=True)).group(1) == data["submission"]  # the same form
    assert client.post(url, data={**data, "reason": "Her safety"}).status_code == 302
    assert count(app, SharingRecord) == 1
