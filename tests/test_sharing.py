"""Information-sharing records: recorded by practitioners, shown within the firewall, reviewed by auditors."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from riskhub.models.sharing import SharingRecord
from tests.conftest import post_form

TODAY = date.today().isoformat()
SHARED_TEXT = "Told police she has moved to her sister's flat"
SHARED_WHY = "Risk of serious harm after his release this week"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SHARING_LEGAL_BASES": {"safeguarding": "Safeguarding", "court_order": "Court order (local list)"}}


def share(client: Any, reference: str, **overrides: str) -> Any:
    data = {"decision": "shared", "with_agency": "", "decided_on": TODAY, "legal_basis": "safeguarding",
            "consent": "refused", "information": SHARED_TEXT, "reason": SHARED_WHY, **overrides}
    return post_form(client, f"/cases/{reference}/sharing/new", data)


def test_survivor_side_record_is_encrypted_shown_to_her_side_and_logged(app, client, auth, people, make):
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("idva@example.org")
    form = client.get(f"/cases/{reference}/sharing/new").get_data(as_text=True)
    assert "Court order (local list)" in form  # the configurable list of legal bases
    response = share(client, reference, with_agency=str(people["police_agency"]))
    assert response.status_code == 302
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert SHARED_TEXT.replace("'", "&#39;") in page and "County Police" in page and "Safeguarding" in page
    with app.app_context():
        record = db.session.scalars(select(SharingRecord)).one()
        assert record.survivor_side and record.information_enc is None
        assert b"sister" not in bytes(record.survivor_information_enc)
        entry = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "sharing.record")).one()
        assert entry.sections == "survivor_sharing" and entry.purpose.startswith("shared with agency:")
        assert "sister" not in (entry.purpose or "")
    auth.logout()
    auth.login("programme@example.org")
    programme_page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "sister" not in programme_page and "Risk of serious harm" not in programme_page
    assert "No information sharing recorded." in programme_page


def test_programme_record_reaches_the_survivor_side(app, client, auth, people, make):
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    response = share(client, reference, with_agency=str(people["idva_agency"]), consent="not_sought_unsafe",
                     information="He disclosed a new threat in group", reason="Her safety", category="risk_events")
    assert response.status_code == 302
    auth.logout()
    auth.login("idva@example.org")
    assert "He disclosed a new threat in group" in client.get(f"/cases/{reference}").get_data(as_text=True)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"legal_basis": ""}, "legal_basis", "Choose the legal basis for sharing"),
    ({"decision": "not_shared", "reason": ""}, "reason", "Explain why you decided not to share"),
    ({"decided_on": (date.today() + timedelta(days=2)).isoformat()}, "decided_on", "cannot be in the future"),
    ({"with_agency": ""}, "with_agency", "Choose the agency"),
])
def test_incomplete_records_are_refused_beside_the_field(app, client, auth, people, make, overrides, field, message):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    response = share(client, reference, **{"with_agency": str(people["police_agency"]), **overrides})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(rf'href="#{field}(-0)?"', html) and message in html
    with app.app_context():
        assert db.session.scalars(select(SharingRecord)).all() == []


def test_decision_not_to_share_appears_to_auditors_without_the_text(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    response = share(client, reference, decision="not_shared", legal_basis="", with_agency=str(people["police_agency"]),
                     information="Her new address", reason="Police officer is related to him")
    assert response.status_code == 302
    auth.logout()
    auth.login("auditor@example.org")
    page = client.get(f"/audit/cases/{reference}").get_data(as_text=True)
    assert "Decided not to share" in page and "County Police" in page and "Riverside IDVA" in page
    assert "related to him" not in page and "new address" not in page


def test_outsiders_cannot_record_sharing(app, client, auth, people, make):
    reference = make.case(people["idva"])
    auth.login("programme@example.org")
    assert client.get(f"/cases/{reference}/sharing/new").status_code == 403


def test_survivor_side_sharing_records_never_reach_a_perpetrator_facing_auditor(app, client, auth, people, make):
    refuge = make.agency("Northgate Refuge", "survivor_support")
    make.user("programme-ig@example.org", people["programme_agency"], ("auditor",))
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    auth.login("idva@example.org")
    assert share(client, reference, with_agency=str(refuge), information="Her room number",
                 reason="Refuge place").status_code == 302
    auth.logout()
    auth.login("auditor@example.org")  # an auditor outside the perpetrator side sees the record
    assert "Northgate Refuge" in client.get(f"/audit/cases/{reference}").get_data(as_text=True)
    auth.logout()
    auth.login("programme-ig@example.org")
    response = client.get(f"/audit/cases/{reference}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and reference in page
    assert "Northgate Refuge" not in page and "No sharing recorded." in page
    with app.app_context():
        entry = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "audit.case_timeline")
                                   .order_by(AccessLogEntry.seq.desc())).first()
        assert entry.sections == "information_sharing"
