"""The access log's tamper evidence: signed checkpoints, `riskhub audit verify`, concurrent writers.

Tampering is done the way an intruder with database access would: raw SQL on the tables
(on PostgreSQL with the append-only trigger switched off for the moment).
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import stat
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry, AuditChainHead, AuditCheckpoint
from riskhub.operations.audit_checkpoints import statement
from tests.conftest import AuthActions, base_config

SEED = base64.b64encode(bytes(range(1, 33))).decode()


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"AUDIT_SIGNING_KEY": SEED, "AUDIT_CHECKPOINT_EVERY": 10}


def append(app: Any, count: int, action: str = "case.view") -> None:
    """Write `count` entries, one transaction each, as requests would."""
    with app.app_context():
        for n in range(count):
            audit.record(action, actor=audit.SYSTEM, case_ref=f"RH-2026-{n:04d}", sections=("summary",))
            db.session.commit()


@pytest.fixture(autouse=True, params=["one process", "slices side by side"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every check runs both ways: one walk, and the walk split into slices checked in parallel."""
    from riskhub.operations import audit_verify

    if request.param == "slices side by side":
        monkeypatch.setattr(audit_verify, "PARALLEL_FROM", 2)
        monkeypatch.setattr(audit_verify.os, "cpu_count", lambda: 3)  # three slices even on a 2-core machine
    else:
        monkeypatch.setattr(audit_verify, "PARALLEL_FROM", 10**12)
    return str(request.param)


def tamper(app: Any, *statements: tuple[str, dict[str, Any]]) -> None:
    """Change the log behind the application's back, as someone with database access could."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            db.session.execute(text("ALTER TABLE access_log DISABLE TRIGGER USER"))
            db.session.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))
        for sql, params in statements:
            db.session.execute(text(sql), params)
        if postgres:
            db.session.execute(text("ALTER TABLE access_log ENABLE TRIGGER USER"))
            db.session.execute(text("ALTER TABLE audit_checkpoints ENABLE TRIGGER USER"))
        db.session.commit()


def verify(runner: Any, *args: str) -> Any:
    return runner.invoke(args=["audit", "verify", *args])


def hashes(app: Any) -> dict[int, bytes]:
    with app.app_context():
        return {seq: bytes(h) for seq, h in db.session.execute(select(AccessLogEntry.seq, AccessLogEntry.entry_hash))}


def test_intact_chain_verifies_and_the_verification_is_logged(app, runner):
    append(app, 25)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "Access log intact: 25 entries, 2 signed checkpoints, last at entry 20" in result.output
    with app.app_context():
        last = db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc()).limit(1)).one()
        assert (last.action, last.purpose) == ("audit.verify", "intact: 25 entries, 2 checkpoints")
        assert db.session.scalars(select(AuditCheckpoint.seq)).all() == [10, 20]


def test_edited_entry_is_named(app, runner):
    append(app, 25)
    tamper(app, ("UPDATE access_log SET case_ref = 'RH-2026-9999' WHERE seq = 7", {}))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 7 was altered after it was written" in result.output


def test_deleted_entry_is_named(app, runner):
    append(app, 25)
    tamper(app, ("DELETE FROM access_log WHERE seq = 12", {}))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 12 is missing" in result.output


def test_reordered_entries_are_named(app, runner):
    append(app, 25)
    tamper(app, ("UPDATE access_log SET seq = -1 WHERE seq = 7", {}),
           ("UPDATE access_log SET seq = 7 WHERE seq = 8", {}),
           ("UPDATE access_log SET seq = 8 WHERE seq = -1", {}))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 7 does not follow the entry before it" in result.output


def test_entry_inserted_in_the_middle_is_caught(app, runner):
    append(app, 25)
    previous = hashes(app)[6]
    forged = {"seq": 7, "at": "2026-01-01 00:00:00.000000", "roles": "", "action": "case.view",
              "sections": "", "outcome": "allowed", "prev_hash": previous}
    forged["entry_hash"] = hashlib.sha256(previous + audit.canonical_text(
        7, "2026-01-01T00:00:00.000000+00:00", None, None, "", "case.view", None, None, None, "", None,
        "allowed", None, None)).digest()
    tamper(app, ("UPDATE access_log SET seq = -seq WHERE seq >= 7", {}),
           ("UPDATE access_log SET seq = 1 - seq WHERE seq < 0", {}),
           ("INSERT INTO access_log (seq, at, roles, action, sections, outcome, prev_hash, entry_hash) VALUES "
            "(:seq, :at, :roles, :action, :sections, :outcome, :prev_hash, :entry_hash)", forged))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 8 does not follow the entry before it: an entry was inserted" in result.output


def test_entry_appended_outside_the_application_is_caught(app, runner):
    append(app, 12)
    last = hashes(app)[12]
    digest = hashlib.sha256(last + audit.canonical_text(
        13, "2026-01-01T00:00:00.000000+00:00", None, None, "", "case.view", None, None, None, "", None,
        "allowed", None, None)).digest()
    tamper(app, ("INSERT INTO access_log (seq, at, roles, action, sections, outcome, prev_hash, entry_hash) "
                 "VALUES (13, '2026-01-01 00:00:00.000000', '', 'case.view', '', 'allowed', :p, :h)",
                 {"p": last, "h": digest}))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 13 was added outside the application" in result.output


def rewrite_from(app: Any, seq: int) -> None:
    """An intruder edits entry `seq` and recomputes every later hash and the head: SHA-256 needs no key."""
    with app.app_context():
        rows = db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all()
        previous, updates = bytes(32), []
        for row in rows:
            if row.seq == seq:
                row.case_ref = "RH-2026-9999"
            digest = hashlib.sha256(previous + audit.canonical_content(row)).digest()
            if row.seq >= seq:
                updates.append(("UPDATE access_log SET case_ref = :c, prev_hash = :p, entry_hash = :h WHERE seq = :s",
                                {"c": row.case_ref, "p": previous, "h": digest, "s": row.seq}))
            previous = digest
        db.session.rollback()
    tamper(app, *updates, ("UPDATE audit_chain_head SET last_hash = :h", {"h": previous}))


def test_rewritten_chain_is_caught_by_the_signed_checkpoint(app, runner):
    append(app, 25)
    rewrite_from(app, 7)
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 10 differs from its signed checkpoint" in result.output


def test_truncated_tail_is_caught_by_the_head_row(app, runner):
    append(app, 25)
    tamper(app, ("DELETE FROM access_log WHERE seq > 15", {}))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 16 is missing: the chain ends at entry 15 but 25 entries were written" in result.output


def test_truncated_tail_with_head_reset_is_caught_by_the_last_checkpoint(app, runner):
    append(app, 25)
    fifteen = hashes(app)[15]
    tamper(app, ("DELETE FROM access_log WHERE seq > 15", {}),
           ("UPDATE audit_chain_head SET seq = 15, last_hash = :h", {"h": fifteen}))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 16 is missing: a signed checkpoint pins entry 20 but the chain ends at 15" in result.output


def test_forged_checkpoint_is_caught(app, runner):
    append(app, 25)
    tamper(app, ("UPDATE audit_checkpoints SET entry_hash = :h WHERE seq = 20", {"h": bytes(32)}))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN: entry 20 has a checkpoint whose signature is not valid" in result.output


def test_exported_checkpoint_catches_a_tail_cut_after_the_last_stored_one(app, runner, tmp_path):
    append(app, 21)
    exported = tmp_path / "checkpoint.json"
    made = runner.invoke(args=["audit", "checkpoint", "--output", str(exported)])
    assert made.exit_code == 0, made.output
    data = json.loads(exported.read_text())
    assert data["seq"] == 22 and data["format"] == "riskhub-audit-checkpoint-v1"
    twenty_one = hashes(app)[21]
    tamper(app, ("DELETE FROM access_log WHERE seq > 21", {}),
           ("DELETE FROM audit_checkpoints WHERE seq > 21", {}),
           ("UPDATE audit_chain_head SET seq = 21, last_hash = :h", {"h": twenty_one}))
    result = verify(runner, "--against", str(exported))
    assert result.exit_code == 1
    assert "BROKEN: entry 22" in result.output and "the tail was removed" in result.output


def test_checkpoint_command_prints_a_signature_the_public_key_checks(app, runner):
    append(app, 3)
    made = runner.invoke(args=["audit", "checkpoint"])
    assert made.exit_code == 0, made.output
    data = json.loads(made.output)
    public = Ed25519PrivateKey.from_private_bytes(base64.b64decode(SEED)).public_key()
    public.verify(base64.b64decode(data["signature"]), statement(
        data["seq"], bytes.fromhex(data["entry_hash"]), datetime.fromisoformat(data["created_at"]), data["key_id"]))
    with app.app_context():
        entry = db.session.get(AccessLogEntry, data["seq"])
        assert entry.action == "audit.checkpoint" and bytes(entry.entry_hash).hex() == data["entry_hash"]
    pem = runner.invoke(args=["audit", "public-key"])
    assert pem.output.startswith("-----BEGIN PUBLIC KEY-----")


def test_checkpoints_are_append_only_on_postgresql(app):
    append(app, 10)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger is PostgreSQL's")
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_checkpoints"))
        db.session.rollback()


def test_concurrent_threads_leave_one_linear_valid_chain(app, runner):
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            append(app, 15)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with app.app_context():
        assert db.session.scalars(select(AccessLogEntry.seq).order_by(AccessLogEntry.seq)).all() == list(range(1, 91))
        assert db.session.get(AuditChainHead, 1).seq == 90
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "90 entries, 9 signed checkpoints" in result.output


def _append_in_process(config: dict[str, Any], count: int) -> None:
    from riskhub import create_app

    append(create_app(config), count)


def test_concurrent_processes_leave_one_linear_valid_chain(app, runner, database, keyring_file):
    config = {**base_config(database, keyring_file), "AUDIT_SIGNING_KEY": SEED, "AUDIT_CHECKPOINT_EVERY": 10}
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_append_in_process, args=(config, 20)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "60 entries, 6 signed checkpoints" in result.output


def test_init_writes_a_private_signing_key(tmp_path, monkeypatch):
    from riskhub.cli import cli

    monkeypatch.setenv("RISKHUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("RISKHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'init.sqlite3'}")
    monkeypatch.delenv("RISKHUB_AUDIT_SIGNING_KEY", raising=False)
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    key = Path(tmp_path / "audit-signing.key")
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    before = key.read_text()
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    assert key.read_text() == before


@pytest.mark.parametrize("app_config", [{"AUDIT_SIGNING_KEY": SEED, "AUDIT_CHECKPOINT_EVERY": 0,
                                         "AUDIT_CHECKPOINT_MINUTES": 60}])
def test_a_quiet_log_is_still_checkpointed_once_the_interval_has_passed(app, client, runner, people, monkeypatch):
    """With no count-based checkpoints, the first append signs one, the next only after the interval."""
    from riskhub.operations import audit_checkpoints

    def reset_clock() -> None:  # each process looks at the table at most once a minute
        app.extensions[audit_checkpoints.CLOCK] = {"next_look": 0.0}

    def checkpoints() -> list[int]:
        with app.app_context():
            return list(db.session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)))

    first = checkpoints()
    assert first == [1]  # the very first append (making the test's users) found no checkpoint at all
    reset_clock()
    AuthActions(client).login("idva@example.org")
    assert checkpoints() == first

    reset_clock()
    AuthActions(client).logout()  # appends a sign-out
    assert checkpoints() == first  # within the hour: no new checkpoint

    later = audit_checkpoints.utcnow() + timedelta(minutes=61)
    monkeypatch.setattr(audit_checkpoints, "utcnow", lambda: later)
    reset_clock()
    AuthActions(client).login("idva@example.org")
    after = checkpoints()
    assert len(after) == 2 and after[1] > first[0]
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "2 signed checkpoints" in result.output
