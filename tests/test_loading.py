"""`operations.load_collections`: a record's lists read with statements built once."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from riskhub.extensions import db
from riskhub.models.cases import Case, Person, PersonRole
from riskhub.operations import load_collections
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
