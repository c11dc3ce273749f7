"""No plaintext at rest: sentinels typed into the app appear in no database file and no dump."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from riskhub.extensions import db
from tests.conftest import PG_URL, post_form
from tests.test_cases import survivor_answers

SENTINELS = {
    "survivor_given_name": "Xantheaqz", "survivor_family_name": "Quillbraithe",
    "perpetrator_given_name": "Vorkelmund", "perpetrator_family_name": "Grzybowskiq",
    "contact_address": "77 Sentinelhurst Lane", "contact_phone": "07700 987654",
    "contact_email": "sentinel.zq@example.org", "contact_safe_contact": "Sentinel safe window",
    "contact_do_not_contact": "Sentinel forbidden route", "survivor_language": "Sentinelese",
}
NARRATIVE = "Sentinel narrative of the incident"
USER_NAME, USER_EMAIL = "Sentinel Staffname", "sentinel.staff@example.org"


def fill_through_the_app(client: Any, auth: Any, people: dict[str, Any]) -> str:
    """Create a case, an assessment, a note and a user with known sentinel strings."""
    auth.login("idva@example.org")
    response = post_form(client, "/cases/new", SENTINELS)
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    assert post_form(client, f"/cases/{reference}/assessments/new/survivor", {
        "assessed_on": date.today().isoformat(), **survivor_answers(3), "notes": NARRATIVE,
        "source_injury": "Sentinel neighbour"}).status_code == 302
    post_form(client, f"/cases/{reference}/notes", {"text": NARRATIVE + " in a note"}, page=f"/cases/{reference}")
    auth.logout()
    auth.login("admin@example.org")
    users = client.get("/admin/users/new").get_data(as_text=True)
    assert post_form(client, "/admin/users/new", {
        "name": USER_NAME, "email": USER_EMAIL, "agency": str(people["idva_agency"]),
        "roles": ["practitioner"], "password": "a-long-unusual-passphrase-9"}).status_code == 302, users
    auth.logout()
    return reference


def everything_secret() -> list[bytes]:
    values = [*SENTINELS.values(), NARRATIVE, "Sentinel neighbour", USER_NAME, USER_EMAIL, "07700987654"]
    return [v.encode() for v in values] + [v.lower().encode() for v in values]


@pytest.mark.skipif(os.environ.get("RISKHUB_TEST_BACKEND") == "postgresql", reason="checks the SQLite file")
def test_sqlite_file_holds_no_plaintext(app, client, auth, people):
    reference = fill_through_the_app(client, auth, people)
    with app.app_context():
        path = Path(db.engine.url.database)
        db.engine.dispose()
    with sqlite3.connect(path) as conn:  # fold the write-ahead log into the file, then read both anyway
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    assert reference.encode() in raw  # the check can see what is stored in the clear
    for secret in everything_secret():
        assert secret not in raw, secret


@pytest.mark.skipif(os.environ.get("RISKHUB_TEST_BACKEND") != "postgresql", reason="checks a PostgreSQL dump")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_postgresql_dump_holds_no_plaintext(app, client, auth, people, database):
    reference = fill_through_the_app(client, auth, people)
    dump = subprocess.run(
        ["pg_dump", "--no-owner", f"--schema={database['PG_SCHEMA']}",
         PG_URL.replace("postgresql+psycopg://", "postgresql://")],
        check=True, capture_output=True, timeout=120).stdout
    assert reference.encode() in dump
    for secret in everything_secret():
        assert secret not in dump, secret
