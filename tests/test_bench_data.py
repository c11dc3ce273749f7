"""`riskhub bench-data`: synthetic volume made through the operations layer, chained and encrypted."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text

from riskhub.extensions import db
from riskhub.models.accounts import Role
from riskhub.models.assessments import Assessment
from riskhub.models.audit import AccessLogEntry
from riskhub.models.cases import Case
from riskhub.models.meetings import AgendaItem, Meeting


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_bench_data_fills_a_fresh_instance_and_the_access_log_verifies(app: Flask, runner: Any,
                                                                        tmp_path: Path) -> None:
    app.instance_path = str(tmp_path)
    result = runner.invoke(args=["bench-data", "--cases", "50", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "Generated 50 cases" in result.output

    manifest_file = tmp_path / "bench-manifest.json"
    assert stat.S_IMODE(manifest_file.stat().st_mode) == 0o600
    manifest = json.loads(manifest_file.read_text())
    with app.app_context():
        assert count(Case) == 50
        assert count(Assessment) == 150  # two survivor-side and one perpetrator-side per case
        assert count(Meeting) == manifest["volume"]["meetings"] == 4
        # Each case goes on the agenda of the meeting that first hears it (on PostgreSQL the
        # cases are made by a second process, and each meeting waits for its own).
        on_agendas = db.session.scalar(select(func.count(AgendaItem.case_id.distinct())))
        assert on_agendas == 50
        entries = count(AccessLogEntry)
        assert entries == manifest["access_log_entries"] >= manifest["volume"]["access_log"]
        # The benchmark's auditor reviews every agency's entries, not a programme's own staff's.
        from riskhub.operations.accounts import find_user_by_email

        auditor = find_user_by_email(manifest["auditor"])
        assert auditor is not None and Role.AUDITOR in auditor.roles and not auditor.agency.perpetrator_facing
        # Names are stored encrypted: none of the generated references' people appear in clear.
        first = db.session.scalars(select(Case).limit(1)).one()
        survivor_name = first.survivor.given_name if first.survivor else ""
        assert survivor_name
        stored = db.session.execute(text("SELECT * FROM people")).all()
        assert survivor_name not in repr(stored)
        if db.engine.dialect.name == "postgresql":  # planned from real statistics, as autovacuum leaves them
            analysed = db.session.scalar(text(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'agenda_items'"
                " AND schemaname = current_schema()"))
            assert analysed is not None

    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    assert "intact" in verify.output

    again = runner.invoke(args=["bench-data", "--cases", "50"])
    assert again.exit_code != 0 and "already has users" in again.output


def test_a_failure_while_making_the_cases_stops_the_command_with_its_reason(app: Flask, runner: Any,
                                                                             tmp_path: Path,
                                                                             monkeypatch: Any) -> None:
    """On PostgreSQL the cases are made by a second process: its failure must reach the user, not
    leave the meetings waiting for cases that never come."""
    import riskhub.demo_scale

    made = riskhub.demo_scale.make_case

    def make_case(world: Any, number: int, created: Any) -> None:
        if number == 30:
            raise RuntimeError("the disk is full")
        made(world, number, created)

    monkeypatch.setattr(riskhub.demo_scale, "make_case", make_case)
    app.instance_path = str(tmp_path)
    result = runner.invoke(args=["bench-data", "--cases", "50", "--seed", "7"])
    assert result.exit_code != 0
    assert "the disk is full" in result.output + repr(result.exception)
    assert not (tmp_path / "bench-manifest.json").exists()
