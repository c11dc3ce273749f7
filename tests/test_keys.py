"""Authenticated encryption bound to its place, clear key errors, and resumable key rotation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from riskhub import crypto
from riskhub.extensions import db
from riskhub.models.base import field_cipher
from riskhub.models.cases import Case, Person, SurvivorContact


@pytest.fixture
def private_keyring(tmp_path: Path, keyring_file: Path) -> Path:
    """A copy of the run's keyring that this test may rotate."""
    copy = tmp_path / "keyring.json"
    shutil.copy(keyring_file, copy)
    copy.chmod(0o600)
    return copy


@pytest.fixture
def app_config(private_keyring: Path) -> dict[str, Any]:
    return {"KEYRING_FILE": str(private_keyring)}


def stored(column: str, table: str, row_id: Any) -> bytes:
    return bytes(db.session.execute(text(f"SELECT {column} FROM {table} WHERE id = :id"),  # noqa: S608
                                    {"id": row_id.hex if db.engine.dialect.name == "sqlite" else row_id}).scalar())


def two_people(app: Any, people: dict[str, Any], make: Any) -> tuple[Any, Any]:
    make.case(people["idva"], survivor=("Alice", "First", None), contact={"phone": "07700 900001"})
    make.case(people["idva"], survivor=("Beth", "Second", None), contact={"phone": "07700 900002"})
    with app.app_context():
        rows = db.session.scalars(select(Person).where(Person.role == "survivor").order_by(Person.id)).all()
        return rows[0].id, rows[1].id


def test_each_value_is_sealed_with_a_fresh_nonce_and_names_its_key(app):
    with app.app_context():
        cipher = field_cipher()
        one = cipher.encrypt(crypto.CASE_CONTENT, "same text", table="t", column="c", row_id="1")
        two = cipher.encrypt(crypto.CASE_CONTENT, "same text", table="t", column="c", row_id="1")
        assert one != two and b"same text" not in one
        assert crypto.stored_key_id(one) == cipher.keyring.classes[crypto.CASE_CONTENT].primary


def test_tampered_or_moved_ciphertext_fails_loudly(app, people, make):
    first, second = two_people(app, people, make)
    with app.app_context():
        blob = stored("given_name_enc", "people", first)
        tampered = bytearray(blob)
        tampered[-1] ^= 1
        place = {"table": "people", "column": "given_name_enc", "row_id": str(first)}
        with pytest.raises(crypto.DecryptionError, match="people.given_name_enc"):
            field_cipher().decrypt(crypto.CASE_CONTENT, bytes(tampered), **place)
        # Copied to another row, or to another column of the same row: refused, never shown.
        db.session.execute(text("UPDATE people SET given_name_enc = :b WHERE id = :id"),
                           {"b": blob, "id": second.hex if db.engine.dialect.name == "sqlite" else second})
        db.session.execute(text("UPDATE people SET family_name_enc = :b WHERE id = :id"),
                           {"b": blob, "id": first.hex if db.engine.dialect.name == "sqlite" else first})
        db.session.commit()
        moved = db.session.get(Person, second)
        with pytest.raises(crypto.DecryptionError, match="failed authentication"):
            _ = moved.given_name
        other_column = db.session.get(Person, first)
        assert other_column.given_name in {"Alice", "Beth"}
        with pytest.raises(crypto.DecryptionError):
            _ = other_column.family_name


def test_wrong_or_missing_key_names_the_key_id(app, people, make):
    first, _ = two_people(app, people, make)
    with app.app_context():
        blob = stored("given_name_enc", "people", first)
        place = {"table": "people", "column": "given_name_enc", "row_id": str(first)}
        key_id = crypto.stored_key_id(blob)
        wrong = crypto.Keyring.generate()  # same key ids, different keys
        with pytest.raises(crypto.DecryptionError, match=key_id):
            crypto.FieldCipher(wrong).decrypt(crypto.CASE_CONTENT, blob, **place)
        missing = crypto.Keyring.generate()
        missing.classes[crypto.CASE_CONTENT].keys = {"c9": missing.classes[crypto.CASE_CONTENT].keys["c1"]}
        missing.classes[crypto.CASE_CONTENT].primary = "c9"
        with pytest.raises(crypto.MissingKeyError, match=f"'{key_id}'"):
            crypto.FieldCipher(missing).decrypt(crypto.CASE_CONTENT, blob, **place)


def test_survivor_key_is_refused_to_a_restricted_request(app, people, make):
    make.case(people["idva"], contact={"address": "1 Hidden Road"})
    with app.app_context():
        contact = db.session.scalars(select(SurvivorContact)).one()
        with crypto.restrict_to({crypto.CASE_CONTENT, crypto.BLIND_INDEX}), \
                pytest.raises(crypto.KeyClassNotPermitted):
            _ = contact.address
        assert contact.address == "1 Hidden Road"


def key_ids(app: Any) -> set[str]:
    with app.app_context():
        ids = set()
        for column, table in (("given_name_enc", "people"), ("address_enc", "survivor_contacts"),
                              ("email_enc", "users")):
            for (blob,) in db.session.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")):  # noqa: S608
                ids.add(crypto.stored_key_id(bytes(blob)))
        return ids


def test_rotation_interrupted_then_resumed_finishes_the_same_rotation(app, runner, people, make, private_keyring,
                                                                      monkeypatch):
    from riskhub.operations import keys

    for n in range(3):
        make.case(people["idva"], survivor=(f"Name{n}", "Rotate", None), contact={"address": f"{n} Road",
                                                                                  "phone": f"07700 90010{n}"})
    assert key_ids(app) == {"c1", "s1"}
    monkeypatch.setattr(keys, "BATCH_SIZE", 2)
    calls = {"n": 0}

    def crash_after_first_batch(_rows: int) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("killed")

    with app.app_context(), pytest.raises(KeyboardInterrupt):
        keys.rotate_keys(str(private_keyring), crash_after_first_batch)
    interrupted = json.loads(private_keyring.read_text())
    assert interrupted["rotation_pending"] is True
    assert key_ids(app) >= {"c1", "c2"}  # half moved, all still readable:
    with app.app_context():
        assert sorted(p.given_name for p in db.session.scalars(select(Person).where(Person.role == "survivor"))) \
            == ["Name0", "Name1", "Name2"]

    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "Finished the interrupted rotation" in result.output
    finished = json.loads(private_keyring.read_text())
    assert finished["rotation_pending"] is False
    assert finished["classes"]["case"]["primary"] == "c2"  # no second new key
    assert key_ids(app) == {"c2", "s2"}
    with app.app_context():
        from riskhub.operations import cases

        assert [c.reference for c in cases.find_cases_by_phone("+44 7700 900101")]  # indexes recomputed
        assert db.session.scalar(select(Case.id).limit(1)) is not None
