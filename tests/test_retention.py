"""Retention: `riskhub purge` removes closed cases' personal content past retention, keeps the log valid."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.assessments import Assessment
from riskhub.models.audit import AccessLogEntry, CasePurge
from riskhub.models.base import utcnow
from riskhub.models.cases import Case, CaseNote, CaseStatus, CaseStatusChange, Person, SurvivorContact
from riskhub.operations import cases as case_ops
from tests.conftest import post_form
from tests.test_cases import survivor_answers


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"RETENTION_DAYS": {"closed": 2190}}


def close(app: Any, reference: str, by: Any, days_ago: int) -> None:
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        case_ops.change_status(case, CaseStatus.CLOSED, by=db.session.get(User, by))
        db.session.execute(update(CaseStatusChange).where(CaseStatusChange.case_id == case.id,
                                                         CaseStatusChange.status == CaseStatus.CLOSED)
                           .values(at=utcnow() - timedelta(days=days_ago)))
        db.session.commit()


def count(app: Any, model: Any, case_id: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(model.case_id == case_id)) or 0


def test_dry_run_lists_then_purge_removes_content_and_keeps_the_chain(app, client, auth, people, make, runner):
    old = make.case(people["idva"], survivor=("Marigold", "Quince", None), contact={"phone": "07700 900123"})
    recent = make.case(people["idva"])
    still_open = make.case(people["idva"])
    auth.login("idva@example.org")
    post_form(client, f"/cases/{old}/notes", {"text": "She is staying with a friend"}, page=f"/cases/{old}")
    post_form(client, f"/cases/{old}/assessments/new/survivor",
              {"assessed_on": utcnow().date().isoformat(), **survivor_answers(15)})
    close(app, old, people["idva"], days_ago=2200)
    close(app, recent, people["idva"], days_ago=30)

    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0
    assert old in dry.output and recent not in dry.output and still_open not in dry.output
    with app.app_context():
        case_id = db.session.scalar(select(Case.id).where(Case.reference == old))
    assert count(app, Person, case_id) == 2 and count(app, CaseNote, case_id) == 1  # the dry run changed nothing

    done = runner.invoke(args=["purge", "--yes"])
    assert done.exit_code == 0, done.output
    assert "Purged 1 case(s)" in done.output
    assert count(app, Person, case_id) == 0 and count(app, SurvivorContact, case_id) == 0
    assert count(app, CaseNote, case_id) == 0 and count(app, CasePurge, case_id) == 1
    with app.app_context():
        assessment = db.session.scalars(select(Assessment).where(Assessment.case_id == case_id)).one()
        assert assessment.survivor_content_enc is None and assessment.score == 15  # figures stay
        purge = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "retention.purge")).one()
        assert purge.case_ref == old and purge.purpose.startswith("closed since ")
    assert count(app, Person, db_id(app, recent)) == 2

    page = client.get(f"/cases/{old}")
    assert page.status_code == 200 and "Marigold" not in page.get_data(as_text=True)
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "No cases are past their retention period." in runner.invoke(args=["purge", "--dry-run"]).output


def db_id(app: Any, reference: str) -> Any:
    with app.app_context():
        return db.session.scalar(select(Case.id).where(Case.reference == reference))


def test_purge_asks_before_doing_anything(app, people, make, runner):
    old = make.case(people["idva"])
    close(app, old, people["idva"], days_ago=2500)
    refused = runner.invoke(args=["purge"], input="n\n")
    assert refused.exit_code != 0
    assert count(app, Person, db_id(app, old)) == 2


def test_purge_removes_partner_contact_content(app, people, make, runner):
    from datetime import date

    from riskhub.models.events import EventKind
    from riskhub.models.partnerships import ContactOutcome, CooperationModel, PartnerContactAttempt
    from riskhub.operations import events, partner_contact, partnerships

    reference = make.case(people["police"], involve=(people["programme_agency"],))
    with app.app_context():
        programme, idva = db.session.get(User, people["programme"]), db.session.get(User, people["idva"])
        partnerships.create_partnership(partnerships.PartnershipPlan(
            name="P", programme_agency_id=people["programme_agency"],
            service_agency_ids=frozenset({people["idva_agency"]}), model=CooperationModel.EXTERNAL), by=programme)
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        events.record_event(case, EventKind.ENROLLED, date.today(), "", by=programme)
        task = partner_contact.open_task(case.id, people["idva_agency"])
        partner_contact.record_attempt(task, ContactOutcome.ACCEPTED, date.today(), support="Refuge place",
                                       safety_planning="Code word agreed", by=idva)
        db.session.commit()
    close(app, reference, people["idva"], days_ago=2200)
    assert runner.invoke(args=["purge", "--yes"]).exit_code == 0
    with app.app_context():
        attempt = db.session.scalars(select(PartnerContactAttempt)).one()
        assert attempt.support_enc is None and attempt.safety_planning_enc is None
        assert attempt.outcome == ContactOutcome.ACCEPTED  # the figures for the health page stay
