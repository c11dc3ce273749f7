"""No plaintext at rest: what staff type into riskhub is in no database file, dump or access-log row."""

from __future__ import annotations

import html
import os
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from tests.conftest import BACKEND, PG_URL, post_form
from tests.test_cases import survivor_answers

CASE_FORM = {
    "survivor_given_name": "Xanthrelqa", "survivor_family_name": "Vortigamble-Ñúñez",
    "survivor_date_of_birth": "1987-03-14", "survivor_language": "Quenyarsh",
    "survivor_ethnicity": "Zephyrine heritage",
    "perpetrator_given_name": "Brogdavyn", "perpetrator_family_name": "Kesslewraith",
    "perpetrator_date_of_birth": "1983-11-02", "perpetrator_address": "9 Umberholt Close",
    "contact_address": "41 Marrowquill Terrace", "contact_phone": "07700 913572",
    "contact_email": "hidden.quillsentinel@example.net",
    "contact_safe_contact": "Ring only on Tuesdays after the nursery run",
    "contact_do_not_contact": "Never via her sister Ottoline",
}
NOTE = "Sentinel note about the Wexmoor incident"
CONFIDENTIAL_NOTE = "Sentinel refuge placement at Larkspire"
ASSESSMENT_NOTE = "Sentinel assessment remark Plumhaven"
NEW_USER = {"name": "Quorindel Faststaff", "email": "quorindel.faststaff@example.org"}


def secrets_typed() -> list[bytes]:
    """Every sentinel as typed, in lower and upper case, plus the normalised forms an index might hash."""
    typed = [v for k, v in CASE_FORM.items() if not k.endswith("date_of_birth")]
    typed += [NOTE, CONFIDENTIAL_NOTE, ASSESSMENT_NOTE, *NEW_USER.values()]
    typed += ["07700913572", "447700913572", "Vortigamble", "Ñúñez", "Nunez", "xanthrelqa|vortigamble nunez"]
    variants = {form for value in typed for form in (value, value.lower(), value.upper())}
    return sorted(value.encode("utf-8") for value in variants)


def fill_through_the_app(client: FlaskClient, auth: Any, people: dict[str, Any]) -> str:
    """Create a case, notes, an assessment and a user through the web forms, as staff would."""
    auth.login("idva@example.org")
    created = post_form(client, "/cases/new", CASE_FORM)
    assert created.status_code == 302, created.get_data(as_text=True)
    reference = created.headers["Location"].rsplit("/", 1)[-1]
    page = f"/cases/{reference}"
    assert post_form(client, f"{page}/notes", {"text": NOTE}, page=page).status_code == 302
    assert post_form(client, f"{page}/notes", {"text": CONFIDENTIAL_NOTE, "confidential": "y"},
                     page=page).status_code == 302
    assert post_form(client, f"{page}/assessments/new/survivor", {
        "assessed_on": date.today().isoformat(), **survivor_answers(3), "notes": ASSESSMENT_NOTE}).status_code == 302
    shown = html.unescape(client.get(page).get_data(as_text=True))
    for value in ("Xanthrelqa Vortigamble-Ñúñez", "41 Marrowquill Terrace", "07700 913572", NOTE, CONFIDENTIAL_NOTE):
        assert value in shown  # stored, and readable by the right person
    auth.logout()

    auth.login("admin@example.org")
    added = post_form(client, "/admin/users/new", {**NEW_USER, "agency": str(people["idva_agency"]),
                                                   "roles": ["practitioner"],
                                                   "password": "a-long-unusual-passphrase-9"})
    assert added.status_code == 302, added.get_data(as_text=True)
    auth.logout()
    auth.login(NEW_USER["email"], "a-long-unusual-passphrase-9")  # the new user exists and can sign in
    assert post_form(client, "/account/password", {  # ... and chooses their own password
        "current_password": "a-long-unusual-passphrase-9", "new_password": "a-longer-unusual-passphrase-10",
        "confirm_password": "a-longer-unusual-passphrase-10"}).status_code == 302
    assert "Quorindel Faststaff" in html.unescape(client.get("/").get_data(as_text=True))
    auth.logout()
    return reference


def assert_holds_no_secret(stored: bytes, reference: str) -> None:
    """The reference (kept in the clear) is there, so the check can see stored text; no sentinel is."""
    assert reference.encode() in stored
    assert b"Riverside IDVA" in stored  # organisational data, in the clear by design
    leaked = [secret.decode() for secret in secrets_typed() if secret in stored]
    assert leaked == []


def test_access_log_rows_hold_no_personal_content(app: Flask, client, auth, people):
    """The access log records who touched which case, never the names, contact details or notes."""
    reference = fill_through_the_app(client, auth, people)
    with app.app_context():
        entries = db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all()
        columns = AccessLogEntry.__table__.columns.keys()
        dumped = "\n".join(repr(getattr(e, c)) for e in entries for c in columns).encode()
    assert {"case.create", "case.note", "admin.user.create"} <= {e.action for e in entries}
    assert_holds_no_secret(dumped + b" Riverside IDVA", reference)


@pytest.mark.skipif(BACKEND == "postgresql", reason="checks the SQLite database file")
def test_sqlite_files_hold_no_plaintext(app: Flask, client, auth, people):
    """Neither the SQLite file nor its write-ahead log contains anything typed into the forms."""
    reference = fill_through_the_app(client, auth, people)
    with app.app_context():
        path = Path(db.engine.url.database)
        db.engine.dispose()
    with sqlite3.connect(path) as conn:  # fold the write-ahead log into the file, then read both anyway
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]
    assert_holds_no_secret(b"".join(p.read_bytes() for p in files), reference)


@pytest.mark.skipif(BACKEND != "postgresql", reason="checks a PostgreSQL dump")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_postgresql_dump_holds_no_plaintext(app: Flask, client, auth, people, database):
    """A pg_dump of the test schema contains nothing typed into the forms."""
    reference = fill_through_the_app(client, auth, people)
    with app.app_context():
        db.engine.dispose()
    dump = subprocess.run(
        ["pg_dump", "--no-owner", f"--schema={database['PG_SCHEMA']}",
         PG_URL.replace("postgresql+psycopg://", "postgresql://")],
        check=True, capture_output=True, timeout=120, env={**os.environ, "PGCONNECT_TIMEOUT": "10"}).stdout
    assert b"COPY" in dump and b"people" in dump
    assert_holds_no_secret(dump, reference)
