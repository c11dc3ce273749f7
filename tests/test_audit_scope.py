"""An auditor of a perpetrator programme reviews what their own staff did, and nothing of the
survivor side's work: the rest of the access log says when her contact details changed, what
came of a call to her, what was shared with a refuge."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from riskhub.models.cases import EmergencyAccess
from tests.conftest import post_form

REASON = "Called to a disturbance at the address overnight"


def scenario(app: Any, client: Any, auth: Any, people: dict[str, Any], make: Any) -> dict[str, Any]:
    """A shared case: the IDVA corrects her address, the programme reads the case, police take
    emergency access to another case; plus an auditor in the programme."""
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    other = make.case(people["idva"])
    auth.login("idva@example.org")
    moved = post_form(client, f"/cases/{reference}/contact", {"contact_address": "9 New Road"},
                      hidden=("version",))
    assert moved.status_code == 302
    auth.logout()
    auth.login("programme@example.org")
    assert client.get(f"/cases/{reference}").status_code == 200
    auth.logout()
    auth.login("police@example.org")
    post_form(client, f"/cases/{other}/emergency-access", {"reason": REASON})
    auth.logout()
    make.user("programme-ig@example.org", people["programme_agency"], ("auditor",), name="Ingrid Governance")
    with app.app_context():
        grant = db.session.scalars(select(EmergencyAccess.id)).one()
    return {"case": reference, "other": other, "grant": grant}


def test_a_programme_auditor_sees_only_the_programme_staffs_entries(app, client, auth, people, make):
    s = scenario(app, client, auth, people, make)
    reference = s["case"]
    auth.login("auditor@example.org")  # an auditor outside the programme sees the survivor side's work
    whole = client.get(f"/audit/search?case_ref={reference}").get_data(as_text=True)
    assert "survivor_contact" in whole and "Idva" in whole and "You review what the staff" not in whole
    auth.logout()

    auth.login("programme-ig@example.org")
    index = client.get("/audit/").get_data(as_text=True)
    assert "You review what the staff of Change Programme did" in index
    for url in (f"/audit/search?case_ref={reference}", f"/audit/cases/{reference}"):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "case.view" in page and "Change Programme" in page, url  # their own staff's reading
        assert "survivor_contact" not in page and "Idva" not in page, url
    export = client.get(f"/audit/export?case_ref={reference}")
    assert export.status_code == 200
    rows = export.get_data(as_text=True).splitlines()[1:]
    assert rows and all(",Change Programme," in row for row in rows)
    other_agency = client.get(f"/audit/search?agency={people['idva_agency']}")
    assert other_agency.status_code == 400 and "Choose an agency from the list" in other_agency.get_data(as_text=True)

    # A case the programme is not in, and none of its staff opened: not even that it exists.
    assert client.get(f"/audit/cases/{s['other']}").status_code == 404
    assert client.get(f"/audit/users/{people['idva']}").status_code == 403
    assert client.get(f"/audit/users/{people['programme']}").status_code == 200
    queue = client.get("/audit/reviews/emergency").get_data(as_text=True)
    assert s["other"] not in queue  # police's grant is not theirs to review
    assert client.get(f"/audit/reviews/emergency/{s['grant']}").status_code == 403
    with app.app_context():
        refused = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.outcome == "denied")
                                     .order_by(AccessLogEntry.seq)).all()
        assert [(e.action, e.object_type) for e in refused[-2:]] == [
            ("audit.user_activity", "user"), ("audit.emergency_view", "emergency_access")]


def test_the_programme_auditors_review_queues_keep_to_their_own_staff(app, client, auth, people, make):
    s = scenario(app, client, auth, people, make)
    auth.login("auditor@example.org")
    assert s["other"] in client.get("/audit/reviews/outsiders").get_data(as_text=True)  # police, outside the case
    auth.logout()
    auth.login("programme-ig@example.org")
    for queue in ("outsiders", "denied", "out-of-hours"):
        page = client.get(f"/audit/reviews/{queue}").get_data(as_text=True)
        assert s["other"] not in page and "Police" not in page, queue
    assert "Emergency access</a>: 0 awaiting a decision" in client.get("/audit/").get_data(as_text=True)
    auth.logout()
    auth.login("auditor@example.org")
    assert "Emergency access</a>: 1 awaiting a decision" in client.get("/audit/").get_data(as_text=True)
