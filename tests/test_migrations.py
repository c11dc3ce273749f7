"""Migrations build the models' schema from nothing, on SQLite and PostgreSQL, and can be undone."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from riskhub import create_app
from riskhub.extensions import db

PG_URL = os.environ.get("RISKHUB_TEST_DATABASE_URL", "")


def _postgres_reachable() -> bool:
    if not PG_URL:
        return False
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "skip"
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SQLALCHEMY_ENGINE_OPTIONS": {}}
        return
    if not _postgres_reachable():
        pytest.skip("PostgreSQL is not reachable at RISKHUB_TEST_DATABASE_URL")
    import psycopg

    schema = f"riskhub_migrations_{uuid.uuid4().hex[:10]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield {"SQLALCHEMY_DATABASE_URI": PG_URL,
               "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}}}
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def fresh_app(empty_database: dict[str, Any], keyring_file: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "migration-test-secret-key-0123456789-abcdef",
                      "KEYRING_FILE": str(keyring_file), **empty_database})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _migrations_dir(app: Flask) -> str:
    return app.extensions["migrate"].directory


def schema_differences() -> list[Any]:
    """What autogenerate would still have to change to make the database match the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": False})
        return compare_metadata(context, db.metadata)


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_upgrade_from_empty_matches_the_models(fresh_app: Flask) -> None:
    """Every migration applies to an empty database, and the result is exactly the models' schema."""
    with fresh_app.app_context():
        assert tables() == set()
        upgrade(directory=_migrations_dir(fresh_app))
        assert set(db.metadata.tables) <= tables()
        assert schema_differences() == []


def test_downgrade_to_base_and_upgrade_again(fresh_app: Flask) -> None:
    """Downgrading to base removes every table; upgrading again rebuilds the same schema."""
    directory = _migrations_dir(fresh_app)
    with fresh_app.app_context():
        upgrade(directory=directory)
        downgrade(directory=directory, revision="base")
        assert tables() - {"alembic_version"} == set()
        upgrade(directory=directory)
        assert schema_differences() == []
