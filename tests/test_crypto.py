"""Field encryption: AES-256-GCM per value, bound to table, column and row; loud failures; key classes."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import LargeBinary, select, text

from riskhub import create_app, crypto
from riskhub.extensions import db
from riskhub.models.base import encrypted_attributes
from riskhub.models.cases import Case, Person, PersonRole, SurvivorContact
from riskhub.operations import keys
from tests.conftest import base_config

KEY_ID_PREFIX = {crypto.CASE_CONTENT: "c", crypto.SURVIVOR_CONTACT: "s"}


def sql_id(row_id: uuid.UUID) -> Any:
    """A row id as the database stores it (hex text on SQLite, uuid on PostgreSQL)."""
    return row_id.hex if db.engine.dialect.name == "sqlite" else row_id


def raw(table: str, column: str, row_id: uuid.UUID) -> bytes:
    """The stored bytes of one column of one row, read with plain SQL."""
    value = db.session.execute(text(f"SELECT {column} FROM {table} WHERE id = :id"),  # noqa: S608
                               {"id": sql_id(row_id)}).scalar()
    return bytes(value)


def put(table: str, column: str, row_id: uuid.UUID, value: bytes) -> None:
    """Overwrite one stored column with plain SQL, as an attacker with database access would."""
    db.session.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),  # noqa: S608
                       {"v": value, "id": sql_id(row_id)})
    db.session.commit()


def survivor_id(reference: str) -> uuid.UUID:
    """The id of the survivor row of a case."""
    return db.session.scalar(select(Person.id).join(Case).where(
        Case.reference == reference, Person.role == PersonRole.SURVIVOR))


def contact_id(reference: str) -> uuid.UUID:
    """The id of the survivor contact row of a case."""
    return db.session.scalar(select(SurvivorContact.id).join(Case).where(Case.reference == reference))


def file_keys(path: Path, data_class: str) -> dict[str, bytes]:
    """The raw keys of one data class, read straight from the keyring file."""
    entry = json.loads(path.read_text())["classes"][data_class]
    return {kid: base64.b64decode(k) for kid, k in entry["keys"].items()}


def read_given_name(app: Flask, person: uuid.UUID) -> str:
    """Read a person's given name through the model, in a fresh session."""
    with app.app_context():
        return db.session.get(Person, person).given_name


@pytest.fixture
def two_cases(app: Flask, people: dict[str, Any], make: Any) -> dict[str, Any]:
    """Two survivors with contact details; their ids and case references."""
    alice = make.case(people["idva"], survivor=("Alice", "Ashdown", None), contact={
        "address": "1 Ash Road", "phone": "07700 900001"})
    beth = make.case(people["idva"], survivor=("Beth", "Birchall", None), contact={
        "address": "2 Birch Road", "phone": "07700 900002"})
    with app.app_context():
        return {"alice_ref": alice, "beth_ref": beth, "alice": survivor_id(alice), "beth": survivor_id(beth),
                "alice_contact": contact_id(alice), "beth_contact": contact_id(beth)}


@pytest.fixture
def other_app(database: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    """Make a second app on the same database with a keyring of the test's choosing."""
    made: list[Flask] = []

    def build(keyring: crypto.Keyring) -> Flask:
        path = tmp_path / f"keyring-{len(made)}.json"
        keyring.save(path)
        other = create_app(base_config(database, path))
        made.append(other)
        return other

    yield build
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_each_value_is_aes256gcm_under_a_fresh_nonce_naming_its_key(app, two_cases, make, people,
                                                                  keyring_file):
    """An auditor holding the keyring can open a stored value with plain AES-256-GCM and nothing else."""
    twin = make.case(people["idva"], survivor=("Alice", "Ashdown", None))
    with app.app_context():
        first, second = two_cases["alice"], survivor_id(twin)
        blobs = {row: raw("people", "given_name_enc", row) for row in (first, second)}
        case_key = file_keys(keyring_file, crypto.CASE_CONTENT)["c1"]
        assert len(case_key) == 32  # AES-256
        for row, blob in blobs.items():
            assert blob[0] == crypto.FORMAT_VERSION and blob[2:2 + blob[1]] == b"c1"
            nonce, sealed = blob[4:16], blob[16:]
            assert len(sealed) == len("Alice") + 16  # ciphertext plus the 16-byte GCM tag
            aad = f"riskhub:v1|people|given_name_enc|{row}|c1".encode()
            assert AESGCM(case_key).decrypt(nonce, sealed, aad) == b"Alice"
            with pytest.raises(InvalidTag):  # the same bytes are bound to their own row only
                other = second if row == first else first
                AESGCM(case_key).decrypt(nonce, sealed, f"riskhub:v1|people|given_name_enc|{other}|c1".encode())
        assert blobs[first][4:16] != blobs[second][4:16]  # same text, fresh nonce, different bytes
        assert blobs[first][16:] != blobs[second][16:]


def test_no_two_stored_values_share_a_nonce(app, two_cases):
    """Across every encrypted column of every table, each stored value has its own nonce."""
    with app.app_context():
        nonces = []
        for model in keys.encrypted_models():
            for attribute in encrypted_attributes(model):
                column = getattr(model, attribute.column)
                for (blob,) in db.session.execute(select(column).where(column.is_not(None))):
                    nonces.append(crypto.split_stored_value(bytes(blob))[1])
        assert len(nonces) > 20
        assert len(set(nonces)) == len(nonces)


def test_every_encrypted_column_holds_only_sealed_values_under_its_class_key(app, two_cases, people):
    """Each `_enc` column is declared encrypted, and every stored value names a key of its own class."""
    with app.app_context():
        declared = {(m.__tablename__, a.column): a.data_class
                    for m in keys.encrypted_models() for a in encrypted_attributes(m)}
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if column.name.endswith("_enc"):
                    assert isinstance(column.type, LargeBinary), f"{table.name}.{column.name}"
                    assert (table.name, column.name) in declared, f"{table.name}.{column.name} has no cipher"
        seen: set[tuple[str, str]] = set()
        for (table, column), data_class in declared.items():
            for (blob,) in db.session.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")):  # noqa: S608
                assert crypto.stored_key_id(bytes(blob)) == KEY_ID_PREFIX[data_class] + "1", (table, column)
                seen.add((table, column))
        assert {("people", "given_name_enc"), ("survivor_contacts", "address_enc"), ("users", "email_enc"),
                ("survivor_contacts", "phone_enc")} <= seen


@pytest.mark.parametrize("where", ["key id", "nonce", "ciphertext", "tag"])
def test_a_flipped_byte_fails_loudly_naming_key_and_place(app, two_cases, where):
    """Changing any byte of a stored value makes reading it fail, naming the key id and the place."""
    alice = two_cases["alice"]
    with app.app_context():
        blob = bytearray(raw("people", "given_name_enc", alice))
        position = {"key id": 3, "nonce": 5, "ciphertext": 17, "tag": len(blob) - 1}[where]
        blob[position] ^= 0x01
        put("people", "given_name_enc", alice, bytes(blob))
    expected = crypto.MissingKeyError if where == "key id" else crypto.DecryptionError
    with pytest.raises(expected) as failure:
        read_given_name(app, alice)
    message = str(failure.value)
    assert "people.given_name_enc" in message and str(alice) in message
    assert ("'c0'" if where == "key id" else "'c1'") in message


def test_a_value_copied_to_another_row_is_refused_not_shown(app, client, auth, two_cases, caplog):
    """Alice's name copied over Beth's (same column) is refused in the model and on Beth's case page."""
    alice, beth = two_cases["alice"], two_cases["beth"]
    with app.app_context():
        put("people", "given_name_enc", beth, raw("people", "given_name_enc", alice))
    with pytest.raises(crypto.DecryptionError) as failure:
        read_given_name(app, beth)
    assert "people.given_name_enc" in str(failure.value) and str(beth) in str(failure.value)
    assert "'c1'" in str(failure.value)
    assert read_given_name(app, alice) == "Alice"  # the original is untouched

    auth.login("idva@example.org")
    assert "Alice Ashdown" in client.get(f"/cases/{two_cases['alice_ref']}").get_data(as_text=True)
    with caplog.at_level(logging.ERROR):
        page = client.get(f"/cases/{two_cases['beth_ref']}")
    assert page.status_code == 500
    body = page.get_data(as_text=True)
    assert "Alice" not in body and "Birchall" not in body
    assert f"people.given_name_enc for row {beth}" in caplog.text and "'c1'" in caplog.text


def test_values_swapped_between_two_columns_of_one_row_are_refused(app, two_cases):
    """Exchanging a row's given and family names in the database makes both unreadable."""
    alice = two_cases["alice"]
    with app.app_context():
        given, family = raw("people", "given_name_enc", alice), raw("people", "family_name_enc", alice)
        put("people", "given_name_enc", alice, family)
        put("people", "family_name_enc", alice, given)
    with app.app_context():
        person = db.session.get(Person, alice)
        with pytest.raises(crypto.DecryptionError, match=f"people.given_name_enc for row {alice}"):
            _ = person.given_name
        with pytest.raises(crypto.DecryptionError, match=f"people.family_name_enc for row {alice}"):
            _ = person.family_name


def test_values_moved_between_tables_or_data_classes_are_refused(app, two_cases, people):
    """A survivor's phone or a user's name copied into a person's name is refused, not shown."""
    alice = two_cases["alice"]
    with app.app_context():
        put("people", "given_name_enc", alice, raw("survivor_contacts", "phone_enc", two_cases["alice_contact"]))
    with pytest.raises(crypto.DecryptionError, match="'s1' of the survivor_contact class"):
        read_given_name(app, alice)
    with app.app_context():
        put("people", "given_name_enc", alice, raw("users", "name_enc", people["idva"]))
    with pytest.raises(crypto.DecryptionError, match=f"people.given_name_enc for row {alice}"):
        read_given_name(app, alice)


def test_a_keyring_with_a_different_key_under_the_same_id_cannot_read(app, two_cases, other_app):
    """A restored database opened with the wrong keyring fails loudly on every value."""
    wrong = other_app(crypto.Keyring.generate())  # also c1/s1/i1, but other keys
    with wrong.app_context():
        person = db.session.get(Person, two_cases["alice"])
        with pytest.raises(crypto.DecryptionError) as failure:
            _ = person.given_name
        assert "'c1'" in str(failure.value) and "people.given_name_enc" in str(failure.value)
        contact = db.session.get(SurvivorContact, two_cases["alice_contact"])
        with pytest.raises(crypto.DecryptionError, match="'s1'"):
            _ = contact.address
    assert read_given_name(app, two_cases["alice"]) == "Alice"


def test_a_missing_key_is_named(app, two_cases, other_app):
    """A keyring that lacks the key a value names says which key to restore."""
    keyring = crypto.Keyring.generate()
    case_keys = keyring.classes[crypto.CASE_CONTENT]
    case_keys.keys, case_keys.primary = {"c2": case_keys.keys["c1"]}, "c2"
    partial = other_app(keyring)
    with partial.app_context():
        person = db.session.get(Person, two_cases["alice"])
        with pytest.raises(crypto.MissingKeyError) as failure:
            _ = person.given_name
    message = str(failure.value)
    assert "'c1'" in message and "not in the keyring" in message and "people.given_name_enc" in message


@pytest.mark.parametrize("damage", ["empty", "unknown format", "cut to a header", "tag cut off", "one byte"])
def test_malformed_or_truncated_values_fail_loudly(app, two_cases, damage):
    """Garbage in a column is reported as an error at that place, never shown or read as empty."""
    alice = two_cases["alice"]
    with app.app_context():
        blob = raw("people", "given_name_enc", alice)
        broken = {"empty": b"", "unknown format": b"\x02" + blob[1:], "cut to a header": blob[:10],
                  "tag cut off": blob[:-16], "one byte": blob[:1]}[damage]
        put("people", "given_name_enc", alice, broken)
    with pytest.raises(crypto.DecryptionError, match=f"people.given_name_enc for row {alice}"):
        read_given_name(app, alice)


def test_each_data_class_has_its_own_key(app, two_cases, keyring_file):
    """Survivor contact, case content and blind indexes are sealed under three different keys."""
    keyring = {name: file_keys(keyring_file, name) for name in crypto.DATA_CLASSES}
    assert len({k for ks in keyring.values() for k in ks.values()}) == 3
    with app.app_context():
        contact = two_cases["alice_contact"]
        address = raw("survivor_contacts", "address_enc", contact)
        assert crypto.stored_key_id(address) == "s1"
        aad = f"riskhub:v1|survivor_contacts|address_enc|{contact}|s1".encode()
        assert AESGCM(keyring["survivor_contact"]["s1"]).decrypt(address[4:16], address[16:], aad) == b"1 Ash Road"
        with pytest.raises(InvalidTag):
            AESGCM(keyring["case"]["c1"]).decrypt(address[4:16], address[16:], aad)
        assert crypto.stored_key_id(raw("people", "given_name_enc", two_cases["alice"])) == "c1"


def test_a_restricted_request_cannot_use_the_survivor_contact_key(app, two_cases):
    """Under restrict_to or set_permitted_classes, survivor contact values can be neither read nor written."""
    from riskhub.operations.cases import find_cases_by_phone

    with app.app_context():
        contact = db.session.get(SurvivorContact, two_cases["alice_contact"])
        person = db.session.get(Person, two_cases["alice"])
        with crypto.restrict_to({crypto.CASE_CONTENT, crypto.BLIND_INDEX}):
            assert person.given_name == "Alice"  # the case key is still allowed
            with pytest.raises(crypto.KeyClassNotPermitted, match="survivor_contact"):
                _ = contact.address
            with pytest.raises(crypto.KeyClassNotPermitted):
                contact.address = "3 Elsewhere Street"
            with pytest.raises(crypto.KeyClassNotPermitted):
                find_cases_by_phone("07700 900001")
        crypto.set_permitted_classes({crypto.CASE_CONTENT, crypto.BLIND_INDEX})
        try:
            with pytest.raises(crypto.KeyClassNotPermitted):
                _ = contact.phone
        finally:
            crypto.set_permitted_classes(None)
        assert contact.address == "1 Ash Road"  # unrestricted again once the request ends

