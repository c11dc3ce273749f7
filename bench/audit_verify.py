"""Benchmark `riskhub audit verify`: fill a fresh database with N chained entries, time the walk.

    .venv/bin/python bench/audit_verify.py 1000000                       # SQLite in a temp dir
    .venv/bin/python bench/audit_verify.py 1000000 postgresql://postgres@127.0.0.1:5432/test

Entries are written in bulk (not through requests) but with the real canonical form and
hashes, plus a signed checkpoint every 1000, so the walk does exactly what it does in service.
"""

from __future__ import annotations

import base64
import io
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from riskhub import audit, create_app
from riskhub.cli import migrate_database
from riskhub.crypto import Keyring
from riskhub.extensions import db
from riskhub.models.audit import GENESIS_HASH, AccessLogEntry, AuditChainHead
from riskhub.models.base import utcnow
from riskhub.operations import audit_checkpoints
from riskhub.operations.audit_verify import verify


def fill(total: int, every: int = 1000, batch: int = 20_000) -> None:
    """Append `total` realistic entries with the real hashes, signing a checkpoint every `every`."""
    key = audit_checkpoints.load_signing_key()
    users = [uuid.uuid4() for _ in range(200)]
    agencies = [uuid.uuid4() for _ in range(20)]
    start = utcnow() - timedelta(days=365)
    prev = GENESIS_HASH
    rows: list[dict[str, Any]] = []
    for seq in range(1, total + 1):
        row: dict[str, Any] = dict(
            seq=seq, at=start + timedelta(seconds=seq * 30), user_id=users[seq % 200],
            agency_id=agencies[seq % 20], roles="practitioner", action="case.view",
            object_type="case", object_id=str(uuid.UUID(int=seq % 5000)),
            case_ref=f"RH-2026-{seq % 5000:04d}", sections="assessments,people,summary",
            purpose=None, outcome="allowed", request_id=str(uuid.uuid4()), client_address="10.0.0.1")
        prev = audit.chained_row(prev, row)  # hashed exactly as riskhub.audit hashes an append
        rows.append(row)
        if seq % every == 0:
            db.session.flush()
            audit_checkpoints.sign_checkpoint(seq, prev, key)
        if len(rows) == batch:
            db.session.execute(insert(AccessLogEntry), rows)
            rows = []
    if rows:
        db.session.execute(insert(AccessLogEntry), rows)
    db.session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=total, last_hash=prev))
    db.session.commit()


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    workdir = Path(tempfile.mkdtemp())
    Keyring.generate().save(workdir / "keyring.json")
    config = {"TESTING": True, "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop",
              "KEYRING_FILE": str(workdir / "keyring.json"),
              "AUDIT_SIGNING_KEY": base64.b64encode(bytes(range(32))).decode()}
    schema = None
    if len(sys.argv) > 2:
        import psycopg

        schema = f"riskhub_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(sys.argv[2], autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        config["SQLALCHEMY_DATABASE_URI"] = sys.argv[2]
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    app = create_app(config)
    try:
        with app.app_context():
            migrate_database()
            began = time.perf_counter()
            fill(total)
            print(f"filled {total} entries in {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            result = verify()
            elapsed = time.perf_counter() - began
            print(f"verified {result.entries} entries and {result.checkpoints} checkpoints in {elapsed:.1f} s"
                  f" ({db.engine.dialect.name}); problem: {result.problem}")
            db.session.remove()
            db.engine.dispose()
    finally:
        if schema:
            import psycopg

            with psycopg.connect(sys.argv[2], autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    main()

