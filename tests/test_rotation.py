"""`riskhub rotate-keys`: new primary keys, every value re-encrypted, indexes recomputed, resumable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from riskhub import create_app, crypto
from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.audit import AccessLogEntry
from riskhub.models.base import encrypted_attributes
from riskhub.models.cases import Case, Person, SurvivorContact
from riskhub.operations import keys
from riskhub.operations.accounts import find_user_by_email
from riskhub.operations.cases import add_note, find_cases_by_phone, find_people
from tests.conftest import AuthActions, base_config

SURVIVORS = [("Amara", "Okonkwo", "07700 900301"), ("Zoë", "O'Brien", "07700 900302"),
             ("Дарья", "Смирнова", "07700 900303"), ("Grace", "Hopper-Lee", "07700 900304")]
EMAILS = ["idva@example.org", "programme@example.org", "police@example.org", "chair@example.org",
          "auditor@example.org", "admin@example.org"]


@pytest.fixture
def private_keyring(tmp_path: Path, keyring_file: Path) -> Path:
    """A copy of the run's keyring that this test may rotate."""
    copy = tmp_path / "keyring.json"
    shutil.copy(keyring_file, copy)
    copy.chmod(0o600)
    return copy


@pytest.fixture
def app_config(private_keyring: Path) -> dict[str, Any]:
    """Point this module's app at the private keyring copy."""
    return {"KEYRING_FILE": str(private_keyring)}


@pytest.fixture
def world(app: Flask, people: dict[str, Any], make: Any) -> dict[str, Any]:
    """Cases with contact details and notes (plain and survivor-confidential), and the users."""
    references = [make.case(people["idva"], survivor=(given, family, None), contact={
        "address": f"{n} Rotation Road", "phone": phone, "email": f"s{n}@example.net",
        "safe_contact": "Weekday mornings"}) for n, (given, family, phone) in enumerate(SURVIVORS)]
    with app.app_context():
        idva = db.session.get(User, people["idva"])
        for reference in references:
            case = db.session.scalar(select(Case).where(Case.reference == reference))
            add_note(case, f"Note on {reference}", by=idva, confidential=False)
            add_note(case, f"Confidential note on {reference}", by=idva, confidential=True)
        db.session.commit()
    return {"references": references, **people}


def declared_columns() -> list[tuple[str, str, str]]:
    """(table, column, data class) for every encrypted column of every model."""
    return [(m.__tablename__, a.column, a.data_class) for m in keys.encrypted_models() for a in encrypted_attributes(m)]


def stored_key_ids(app: Flask) -> Counter[str]:
    """How many stored values sit under each key id, read from the database with plain SQL."""
    found: Counter[str] = Counter()
    with app.app_context():
        for table, column, data_class in declared_columns():
            for (blob,) in db.session.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")):  # noqa: S608
                key_id = crypto.stored_key_id(bytes(blob))
                assert key_id[0] == {"case": "c", "survivor_contact": "s"}[data_class], (table, column)
                found[key_id] += 1
    return found


def plaintexts(app: Flask) -> dict[tuple[str, str, str], str]:
    """Every stored value, decrypted through the models (fails loudly if any cannot be read)."""
    values = {}
    with app.app_context():
        for model in keys.encrypted_models():
            for row in db.session.scalars(select(model)):
                for attribute in encrypted_attributes(model):
                    value = getattr(row, attribute.name)
                    if value is not None:
                        values[(model.__tablename__, attribute.column, str(row.id))] = value
    return values


def keyring_on_disk(path: Path) -> dict[str, Any]:
    """The keyring file as JSON."""
    return json.loads(path.read_text())


def index_key(path: Path, key_id: str) -> bytes:
    """One blind-index key read from the keyring file."""
    return base64.b64decode(keyring_on_disk(path)["classes"]["index"]["keys"][key_id])


def assert_indexes_under(app: Flask, path: Path, key_id: str) -> None:
    """Every stored person and phone index is the HMAC under this index key of the row's decrypted value."""
    key = index_key(path, key_id)

    def under_key(purpose: str, value: str, stored: bytes) -> bytes:
        return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()[:len(stored)]

    with app.app_context():
        persons = db.session.scalars(select(Person)).all()
        assert persons
        for person in persons:
            stored = bytes(person.identity_index)
            assert stored == under_key("person-identity", person.own_identity_key(), stored)
        for contact in db.session.scalars(select(SurvivorContact)):
            stored = bytes(contact.phone_index)
            assert stored == under_key("phone", crypto.normalise_phone(contact.phone), stored)
        for user in db.session.scalars(select(User)):
            stored = bytes(user.email_index)
            assert stored == under_key("user-email", user.email, stored)


def assert_lookups_work(app: Flask, world: dict[str, Any]) -> None:
    """Every survivor is found by name and by phone, and every user by email."""
    with app.app_context():
        for (given, family, phone), reference in zip(SURVIVORS, world["references"], strict=True):
            assert [p.case.reference for p in find_people(given.upper(), family, None)] == [reference]
            assert [c.reference for c in find_cases_by_phone(phone)] == [reference]
        for email in EMAILS:
            assert find_user_by_email(email) is not None, email


def signs_in(app: Flask, email: str = "idva@example.org") -> bool:
    """A real sign-in through the web form of this app."""
    from tests.conftest import PASSWORD

    client = app.test_client()
    response = AuthActions(client).login(email, PASSWORD)
    return response.status_code == 302 and "/signin" not in response.headers["Location"]


def test_rotate_keys_command_moves_every_value_to_new_keys(app, runner, world, private_keyring):
    """The command adds a key per class, re-encrypts every value, recomputes indexes, and says so."""
    before = plaintexts(app)
    assert set(stored_key_ids(app)) == {"c1", "s1"}
    assert_indexes_under(app, private_keyring, "i1")

    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypting" in result.output  # the progress bar
    assert "Rotated keys:" in result.output
    assert "primary keys case=c2, index=i2, survivor_contact=s2" in result.output

    ring = keyring_on_disk(private_keyring)
    assert ring["rotation_pending"] is False
    assert {name: (c["primary"], sorted(c["keys"])) for name, c in ring["classes"].items()} == {
        "case": ("c2", ["c1", "c2"]), "survivor_contact": ("s2", ["s1", "s2"]), "index": ("i2", ["i1", "i2"])}
    assert stat.S_IMODE(private_keyring.stat().st_mode) == 0o600
    moved = stored_key_ids(app)
    assert set(moved) == {"c2", "s2"} and sum(moved.values()) == len(before)
    assert plaintexts(app) == before
    assert_indexes_under(app, private_keyring, "i2")
    assert_lookups_work(app, world)
    assert signs_in(app)
    with app.app_context():
        entry = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "keys.rotate")).one()
        assert entry.purpose == "c2,i2,s2"
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # re-encryption left the access log intact


def test_the_progress_bar_is_fed_every_row(app, world, private_keyring, monkeypatch):
    """The bar's length is the number of rows with encrypted data, and batches add up to it."""
    monkeypatch.setattr(keys, "BATCH_SIZE", 3)
    lengths: list[int] = []
    steps: list[int] = []
    with app.app_context():
        result = keys.rotate_keys(str(private_keyring), steps.append, start=lengths.append)
        rows = sum(db.session.scalar(text(f"SELECT count(*) FROM {m.__tablename__}"))  # noqa: S608
                   for m in keys.encrypted_models())
    assert lengths == [rows] and sum(steps) == rows == result["rows"]
    assert max(steps) <= 3 and len(steps) > 3


@pytest.mark.parametrize("interrupt", ["before the first batch", "after the first batch",
                                       "after the second batch", "after the last batch"])
def test_an_interrupted_rotation_stays_readable_and_a_rerun_finishes_it(app, runner, world, private_keyring,
                                                                      monkeypatch, interrupt):
    """Killed at any point: values stay readable, lookups and sign-in work, and a re-run finishes that rotation."""
    before = plaintexts(app)
    monkeypatch.setattr(keys, "BATCH_SIZE", 2)
    seen = {"total": 0, "rows": 0, "batches": 0}

    def start(total: int) -> None:
        seen["total"] = total
        if interrupt == "before the first batch":
            raise KeyboardInterrupt("killed")

    def progress(rows: int) -> None:
        seen["rows"] += rows
        seen["batches"] += 1
        if (interrupt == "after the first batch" and seen["batches"] == 1) or \
                (interrupt == "after the second batch" and seen["batches"] == 2) or \
                (interrupt == "after the last batch" and seen["rows"] == seen["total"]):
            raise KeyboardInterrupt("killed")

    with app.app_context(), pytest.raises(KeyboardInterrupt):
        keys.rotate_keys(str(private_keyring), progress, start=start)

    ring = keyring_on_disk(private_keyring)
    assert ring["rotation_pending"] is True
    assert ring["classes"]["case"]["primary"] == "c2"
    halfway = stored_key_ids(app)
    if interrupt == "before the first batch":
        assert set(halfway) == {"c1", "s1"}
    elif interrupt == "after the last batch":
        assert set(halfway) == {"c2", "s2"}
    else:
        # Some values moved and some not yet; which classes the first batches hold depends on
        # the random row ids, so either class may be the one that moved.
        assert set(halfway) & {"c2", "s2"} and set(halfway) & {"c1", "s1"}
    assert plaintexts(app) == before
    assert_lookups_work(app, world)
    assert signs_in(app)
    fresh = create_app({**app.config, "KEYRING_FILE": str(private_keyring)})  # a worker started now
    assert plaintexts(fresh) == before
    assert_lookups_work(fresh, world)
    with fresh.app_context():
        db.engine.dispose()

    monkeypatch.setattr(keys, "BATCH_SIZE", 500)
    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "Finished the interrupted rotation" in result.output
    ring = keyring_on_disk(private_keyring)
    assert ring["rotation_pending"] is False
    assert {name: sorted(c["keys"]) for name, c in ring["classes"].items()} == {
        "case": ["c1", "c2"], "survivor_contact": ["s1", "s2"], "index": ["i1", "i2"]}  # no second new key
    assert set(stored_key_ids(app)) == {"c2", "s2"}  # nothing left under an old key
    assert plaintexts(app) == before
    assert_indexes_under(app, private_keyring, "i2")
    assert_lookups_work(app, world)


def test_a_rotation_stopped_by_a_damaged_value_says_how_to_finish(app, runner, world, private_keyring,
                                                                   monkeypatch):
    """The command stops with exit 1 naming the bad value; once it is restored, a re-run finishes the same rotation."""
    monkeypatch.setattr(keys, "BATCH_SIZE", 2)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1))
        where = {"id": user_id.hex if db.engine.dialect.name == "sqlite" else user_id}
        original = bytes(db.session.execute(text("SELECT name_enc FROM users WHERE id = :id"), where).scalar())
        damaged = original[:-1] + bytes([original[-1] ^ 1])
        db.session.execute(text("UPDATE users SET name_enc = :v WHERE id = :id"), {**where, "v": damaged})
        db.session.commit()

    stopped = runner.invoke(args=["rotate-keys"])
    assert stopped.exit_code == 1
    assert f"users.name_enc for row {user_id}" in stopped.output
    assert "run `riskhub rotate-keys` again to finish" in stopped.output
    assert {"c1", "c2"} <= set(stored_key_ids(app))  # users come last: earlier tables already moved

    with app.app_context():
        db.session.execute(text("UPDATE users SET name_enc = :v WHERE id = :id"), {**where, "v": original})
        db.session.commit()
    finished = runner.invoke(args=["rotate-keys"])
    assert finished.exit_code == 0, finished.output
    assert "Finished the interrupted rotation" in finished.output
    assert sorted(keyring_on_disk(private_keyring)["classes"]["case"]["keys"]) == ["c1", "c2"]
    assert set(stored_key_ids(app)) == {"c2", "s2"}


def test_a_worker_started_before_the_rotation_keeps_working_after_it(app, runner, world, database,
                                                                     private_keyring):
    """Another running instance signs users in and writes under the new keys once the rotation is done."""
    worker = create_app(base_config(database, private_keyring))
    assert signs_in(worker)
    assert runner.invoke(args=["rotate-keys"]).exit_code == 0
    assert signs_in(worker, "police@example.org")  # email indexes are now under i2 only
    assert_lookups_work(worker, world)
    with worker.app_context():
        person = db.session.scalar(select(Person).limit(1))
        person.given_name = "Renamed"
        db.session.commit()
        where = {"id": person.id.hex if db.engine.dialect.name == "sqlite" else person.id}
        stored = db.session.execute(text("SELECT given_name_enc FROM people WHERE id = :id"), where).scalar()
        assert crypto.stored_key_id(bytes(stored)) == "c2"  # not the worker's old primary
        db.engine.dispose()


def test_rotating_again_starts_a_new_rotation(app, world, private_keyring):
    """Once a rotation has finished, the next one adds a third key and moves everything to it."""
    before = plaintexts(app)
    with app.app_context():
        first = keys.rotate_keys(str(private_keyring))
        second = keys.rotate_keys(str(private_keyring))
    assert (first["resumed"], second["resumed"]) == (False, False)
    assert second["primaries"] == {"case": "c3", "survivor_contact": "s3", "index": "i3"}
    assert set(stored_key_ids(app)) == {"c3", "s3"}
    assert plaintexts(app) == before
    assert_indexes_under(app, private_keyring, "i3")
    assert_lookups_work(app, world)
