"""`operations.load_collections` and `load_collection_of_each`: lists read with statements built once."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from riskhub.extensions import db
from riskhub.models.cases import Case, Person, PersonRole
from riskhub.models.events import EventAcknowledgement, EventKind, ProgrammeEvent
from riskhub.operations import load_collections
from riskhub.operations.events import events_of
from tests.conftest import Factory


def test_a_cases_lists_come_in_their_order_and_unsaved_changes_are_kept(
        app: Flask, make: Factory, people: dict[str, Any]) -> None:
    reference = make.case(people["idva"], perpetrator=("Carl", "Second", None), involve=(people["police_agency"],))
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        statements: list[str] = []
        listen = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            load_collections(case, "people", "involvements")
            assert [p.role for p in case.people] == sorted(p.role for p in case.people)
            assert {p.full_name for p in case.people} == {"Ann Example", "Carl Second"}
            assert {i.agency.name for i in case.involvements} == {"Riverside IDVA", "County Police"}
            assert len(statements) == 2  # one per list, the agencies joined in
            added = Person(role=PersonRole.CHILD)
            case.people.append(added)
            load_collections(case, "people")  # already loaded: left as the session has it
            assert added in case.people and len(statements) == 2
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        db.session.rollback()


def test_only_one_to_many_lists_are_loaded_this_way(app: Flask, make: Factory, people: dict[str, Any]) -> None:
    reference = make.case(people["idva"])
    with app.app_context():
        person = db.session.scalar(select(Person).join(Case).where(Case.reference == reference).limit(1))
        with pytest.raises(TypeError, match="Person.case is not a one-to-many collection"):
            load_collections(person, "case")


def test_a_user_the_gate_refuses_causes_no_read_of_the_cases_people(app: Flask, client: Any, auth: Any,
                                                                      make: Factory, people: dict[str, Any]) -> None:
    reference = make.case(people["idva"])  # police are not involved
    statements: list[str] = []
    listen = lambda *a: statements.append(" ".join(a[2].split()))  # noqa: E731
    auth.login("police@example.org")
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        refused = client.get(f"/cases/{reference}")
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert refused.status_code == 403
    assert any("FROM case_agencies" in s for s in statements)  # the gate's own question
    assert not any("FROM people" in s for s in statements)


def test_each_events_acknowledgements_come_in_one_statement_and_unsaved_changes_are_kept(
        app: Flask, make: Factory, people: dict[str, Any]) -> None:
    reference = make.case(people["idva"], involve=(people["programme_agency"],))
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        seen, unseen, changed = (
            ProgrammeEvent(id=uuid.uuid4(), case_id=case.id, kind=EventKind.MISSED, occurred_on=date(2026, 1, day),
                           agency_id=people["programme_agency"], recorded_by_id=people["programme"])
            for day in (1, 2, 3))
        db.session.add_all([seen, unseen, changed])
        db.session.flush()
        db.session.add(EventAcknowledgement(event_id=seen.id, agency_id=people["idva_agency"], user_id=people["idva"]))
        db.session.commit()
        changed_id, seen_id, case_id = changed.id, seen.id, case.id
        db.session.expunge_all()

        changed = db.session.get(ProgrammeEvent, changed_id)
        added = EventAcknowledgement(agency_id=people["police_agency"], user_id=people["police"])
        changed.acknowledgements.append(added)  # loaded and changed before the list is read
        statements: list[str] = []
        listen = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            with db.session.no_autoflush:  # the acknowledgement stays unsaved
                events = events_of(db.session.get(Case, case_id))
            assert added in db.session.new
            assert len(statements) == 3  # the case, the events, then every event's acknowledgements
            assert [e.occurred_on.day for e in events] == [3, 2, 1]
            assert {e.id: [a.agency_id for a in e.acknowledgements] for e in events} == {
                changed_id: [people["police_agency"]], seen_id: [people["idva_agency"]], events[1].id: []}
            assert len(statements) == 3
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        db.session.rollback()
