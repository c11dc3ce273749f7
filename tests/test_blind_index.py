"""Blind indexes: exact-match lookups of people, phones and users without decrypting the table."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from riskhub import crypto
from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.cases import Case, Person, PersonRole, SurvivorContact
from riskhub.operations.accounts import find_user_by_email
from riskhub.operations.cases import find_cases_by_phone, find_people
from tests.conftest import post_form
from tests.test_crypto import contact_id, put, raw, survivor_id

BORN = date(1990, 4, 5)

# (as recorded, [spellings a colleague might type later that must find the same person])
NAMES: list[tuple[tuple[str, str], list[tuple[str, str]]]] = [
    (("Zoë", "O'Brien-Smith"), [("zoe", "o’brien smith"), ("ZOË", "O BRIEN-SMITH"), (" Zoe ", "O'Brien  Smith")]),
    (("Siobhán", "Ní Dhuibhir"), [("SIOBHAN", "ni dhuibhir"), ("Siobhán", "NÍ-DHUIBHIR")]),
    (("Jürgen", "Strauß"), [("jurgen", "STRAUSS"), ("Jürgen", "Strauss")]),
    (("Łucja", "Wójcik-Nowak"), [("łucja", "WOJCIK NOWAK"), ("ŁUCJA", "wójcik nowak")]),
    (("Ελένη", "Παπαδοπούλου"), [("ΕΛΕΝΗ", "ΠΑΠΑΔΟΠΟΥΛΟΥ"), ("ελενη", "παπαδοπουλου")]),
    (("Дмитрий", "Иванов-Петров"), [("ДМИТРИЙ", "иванов петров")]),
    (("राम", "शर्मा"), [("राम", " शर्मा ")]),
    (("美咲", "佐藤"), [("美咲", "佐藤")]),
    (("محمد", "الحسن"), [("محمد", "الحسن")]),
]


def index_key(keyring_file: Path, key_id: str = "i1") -> bytes:
    """A blind-index key read straight from the keyring file."""
    entry = json.loads(keyring_file.read_text())["classes"][crypto.BLIND_INDEX]
    return base64.b64decode(entry["keys"][key_id])


def expected_index(key: bytes, purpose: str, value: str, length: int) -> bytes:
    """The documented index: HMAC-SHA256 of purpose and normalised value, truncated."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()[:length]


def ids(rows: list[Any]) -> list[uuid.UUID]:
    """The ids of what a lookup returned."""
    return sorted(row.id for row in rows)


def test_unicode_names_round_trip_exactly_and_match_after_normalisation(app, people, make):
    """Accents, apostrophes, hyphens, case and non-Latin scripts: stored exactly, found by any spelling."""
    created = {}
    for (given, family), _ in NAMES:
        reference = make.case(people["idva"], survivor=(given, family, BORN))
        with app.app_context():
            created[(given, family)] = survivor_id(reference)
    with app.app_context():
        for (given, family), spellings in NAMES:
            person = db.session.get(Person, created[(given, family)])
            assert (person.given_name, person.family_name, person.date_of_birth) == (given, family, BORN)
            for variant in [(given, family), *spellings]:
                assert ids(find_people(*variant, BORN)) == [person.id], variant
            assert find_people(given, family, date(1990, 4, 6)) == []  # same name, other birthday
            assert find_people(given, family, None) == []


@pytest.mark.parametrize(("recorded", "other"), [
    (("राम", "शर्मा"), ("रीम", "शर्मा")),  # Ram / Reem: the vowel sign is part of the name
    (("Дмитрий", "Иванов"), ("Дмитрии", "Иванов")),  # й and и are different letters
    (("ガク", "佐藤"), ("カク", "佐藤")),  # the voicing mark changes the name
    (("Anna", "Lee"), ("Anne", "Lee")),
    (("O'Neill", "Ray"), ("Oneill", "Ray")),
])
def test_different_names_are_not_confused(app, people, make, recorded, other):
    """Names that differ in letters, in any script, never find each other."""
    first = make.case(people["idva"], survivor=(*recorded, BORN))
    second = make.case(people["idva"], survivor=(*other, BORN))
    with app.app_context():
        assert ids(find_people(*recorded, BORN)) == [survivor_id(first)]
        assert ids(find_people(*other, BORN)) == [survivor_id(second)]


def test_the_same_person_in_two_cases_is_found_in_both(app, people, make):
    """A survivor known to two agencies is found twice, once per case."""
    first = make.case(people["idva"], survivor=("Maya", "Okafor", BORN))
    second = make.case(people["police"], survivor=("MAYA", "OKAFOR", BORN))
    with app.app_context():
        assert ids(find_people("maya", "okafor", BORN)) == sorted([survivor_id(first), survivor_id(second)])


def test_lookups_read_only_the_index_and_never_decrypt_other_rows(app, people, make, keyring_file):
    """With every other person's and phone's ciphertext destroyed, lookups still find the right one."""
    target = make.case(people["idva"], survivor=("Nadia", "Haddad", BORN), contact={"phone": "07700 900555"})
    others = [make.case(people["idva"], survivor=(f"Other{n}", "Person", BORN), contact={"phone": f"07700 90060{n}"})
              for n in range(3)]
    with app.app_context():
        length = len(raw("people", "identity_index", survivor_id(target)))
        assert 4 <= length <= 16
        wanted = crypto.normalise_for_index("Nadia", "Haddad") + "|" + BORN.isoformat()
        assert raw("people", "identity_index", survivor_id(target)) == \
            expected_index(index_key(keyring_file), "person-identity", wanted, length)
        assert raw("survivor_contacts", "phone_index", contact_id(target)) == \
            expected_index(index_key(keyring_file), "phone", "447700900555", length)
        for reference in others:
            for column in ("given_name_enc", "family_name_enc", "date_of_birth_enc"):
                put("people", column, survivor_id(reference), b"\x01\x02c1" + bytes(40))
            put("survivor_contacts", "phone_enc", contact_id(reference), b"\x01\x02s1" + bytes(40))
    with app.app_context():
        assert ids(find_people("nadia", "HADDAD", BORN)) == [survivor_id(target)]
        assert [c.reference for c in find_cases_by_phone("+44 7700 900555")] == [target]
        assert find_people("Nobody", "Here", BORN) == []


def test_a_forced_person_index_collision_does_not_return_the_wrong_person(app, people, make):
    """Rows sharing an index value are confirmed after decryption, so only the right person comes back."""
    alice = make.case(people["idva"], survivor=("Alice", "Ashdown", BORN))
    beth = make.case(people["idva"], survivor=("Beth", "Birchall", BORN))
    with app.app_context():
        alice_id, beth_id = survivor_id(alice), survivor_id(beth)
        alice_index = raw("people", "identity_index", alice_id)
        put("people", "identity_index", beth_id, alice_index)
    with app.app_context():
        assert ids(find_people("Alice", "Ashdown", BORN)) == [alice_id]
        put("people", "identity_index", alice_id, bytes(len(alice_index)))  # only Beth now holds that value
    with app.app_context():
        assert find_people("Alice", "Ashdown", BORN) == []


def test_a_forced_phone_index_collision_does_not_return_the_wrong_case(app, people, make):
    """Only the case whose decrypted phone really matches is returned."""
    first = make.case(people["idva"], contact={"phone": "07700 900111"})
    second = make.case(people["idva"], contact={"phone": "07700 900222"})
    with app.app_context():
        first_contact, second_contact = contact_id(first), contact_id(second)
        index = raw("survivor_contacts", "phone_index", first_contact)
        put("survivor_contacts", "phone_index", second_contact, index)
    with app.app_context():
        assert [c.reference for c in find_cases_by_phone("07700 900111")] == [first]
        put("survivor_contacts", "phone_index", first_contact, bytes(len(index)))
    with app.app_context():
        assert find_cases_by_phone("07700 900111") == []


@pytest.mark.parametrize("spelling", ["07700 900123", "07700900123", "+44 7700 900123", "+44 (0)7700 900123",
                                      "0044 7700-900-123", "(07700) 900 123", "+447700900123"])
def test_a_survivor_phone_is_found_however_it_is_written(app, people, make, spelling):
    """Spaces, dashes, brackets and the UK +44 / 0044 / (0) forms all find the same case."""
    reference = make.case(people["idva"], contact={"phone": "07700 900123"})
    make.case(people["idva"], contact={"phone": "07700 900124"})
    with app.app_context():
        assert [c.reference for c in find_cases_by_phone(spelling)] == [reference]
        assert db.session.get(SurvivorContact, contact_id(reference)).phone == "07700 900123"  # kept as typed
        assert find_cases_by_phone("") == []


def test_users_are_found_by_email_through_the_index(app, people, make):
    """Email lookup ignores case and surrounding spaces, and confirms the match after decryption."""
    with app.app_context():
        assert find_user_by_email("  IDVA@Example.ORG ").id == people["idva"]
        assert find_user_by_email("nobody@example.org") is None
        assert find_user_by_email("") is None
        idva_index = raw("users", "email_index", people["idva"])
        put("users", "email_index", people["police"], idva_index)  # forced collision
    with app.app_context():
        assert find_user_by_email("idva@example.org").id == people["idva"]
        put("users", "email_index", people["idva"], bytes(len(idva_index)))  # only police holds it now
    with app.app_context():
        assert find_user_by_email("idva@example.org") is None
        assert db.session.get(User, people["police"]).email == "police@example.org"


def test_a_new_case_form_keeps_unicode_names_and_warns_of_the_same_person(app: Flask, client, auth, people):
    """Through the app: names show exactly as typed, and another spelling of them raises the duplicate warning."""
    auth.login("idva@example.org")
    form = {"survivor_given_name": "Zoë", "survivor_family_name": "O'Brien-Ní Dhuill",
            "survivor_date_of_birth": BORN.isoformat(), "perpetrator_given_name": "Дмитрий",
            "perpetrator_family_name": "राम"}
    created = post_form(client, "/cases/new", form)
    assert created.status_code == 302, created.get_data(as_text=True)
    reference = created.headers["Location"].rsplit("/", 1)[-1]
    page = html.unescape(client.get(f"/cases/{reference}").get_data(as_text=True))
    assert "Zoë O'Brien-Ní Dhuill" in page and "Дмитрий राम" in page

    again = post_form(client, "/cases/new", {**form, "survivor_given_name": "ZOE",
                                             "survivor_family_name": "o’brien ni dhuill"})
    assert again.status_code == 400
    assert "A case may already exist" in again.get_data(as_text=True)
    assert reference in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Case)) == 1
        survivor = db.session.scalars(select(Person).where(Person.role == PersonRole.SURVIVOR)).one()
        assert survivor.family_name == "O'Brien-Ní Dhuill"
