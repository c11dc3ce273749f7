"""The `riskhub` command: init, demo, create-agency, create-user, deactivate-user."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select, text

from riskhub import create_app
from riskhub.cli import cli
from riskhub.extensions import db
from riskhub.models.accounts import Agency, Role, User
from riskhub.models.cases import Case
from riskhub.operations import accounts

PASSWORD = "correct-horse-battery-7"
NEW_PASSWORD = "plum-orbit-lantern-58"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


@pytest.fixture
def instance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty instance folder, and no RISKHUB_* settings from outside."""
    for name in list(os.environ):
        if name.startswith("RISKHUB_") or name == "FLASK_DEBUG":
            monkeypatch.delenv(name)
    folder = tmp_path / "instance"
    monkeypatch.setenv("RISKHUB_INSTANCE_PATH", str(folder))
    return folder


def sign_in(client: FlaskClient, email: str, password: str) -> int:
    """Post the sign-in form; return the status (302 means signed in)."""
    match = _CSRF.search(client.get("/signin").get_data(as_text=True))
    assert match
    return client.post("/signin", data={"email": email, "password": password,
                                        "csrf_token": match.group(1)}).status_code


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head
    return head


# init ---------------------------------------------------------------------------------------


def test_init_writes_private_config_and_keyring_and_migrates(instance: Path) -> None:
    """`riskhub init` on an empty folder: config.py and keyring.json with mode 0600, a migrated database."""
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert "Database is up to date" in result.output
    assert mode_of(instance / "config.py") == 0o600
    assert mode_of(instance / "keyring.json") == 0o600
    assert "SECRET_KEY = " in (instance / "config.py").read_text()
    app = create_app({"TESTING": True})
    with app.app_context():
        assert app.config["SQLALCHEMY_DATABASE_URI"].endswith(str(instance / "riskhub.sqlite3"))
        present = set(inspect(db.engine).get_table_names())
        assert {"users", "agencies", "cases", "access_log", "user_sessions"} <= present
        assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
    check = CliRunner().invoke(cli, ["check"])
    assert check.exit_code == 0, check.output


def test_init_again_keeps_keys_and_data(instance: Path) -> None:
    """A second `riskhub init` changes neither the secret key, the keys nor the data."""
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    config_text = (instance / "config.py").read_text()
    keyring_text = (instance / "keyring.json").read_text()
    app = create_app({"TESTING": True})
    app.test_cli_runner().invoke(args=["create-agency", "Kept Agency", "--kind", "housing"])

    again = CliRunner().invoke(cli, ["init"])
    assert again.exit_code == 0, again.output
    assert "Wrote" not in again.output
    assert (instance / "config.py").read_text() == config_text
    assert (instance / "keyring.json").read_text() == keyring_text
    app = create_app({"TESTING": True})
    with app.app_context():
        assert db.session.scalar(select(Agency.name)) == "Kept Agency"


# demo ---------------------------------------------------------------------------------------


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        count = lambda model: db.session.scalar(select(func.count()).select_from(model)) or 0  # noqa: E731
        return count(Agency), count(User), count(Case)


def test_demo_loads_agencies_users_and_cases_once(app: Flask, runner: Any, instance: Path) -> None:
    """`riskhub demo` loads several kinds of agency, a user for every role and cases; a re-run adds nothing."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo logins" in result.output
    with app.app_context():
        kinds = set(db.session.scalars(select(Agency.kind)))
        roles = set().union(*(u.roles for u in db.session.scalars(select(User))))
    assert len(kinds) >= 4
    assert roles == set(Role)
    first = _counts(app)
    assert first[2] >= 3
    logins = re.findall(r"^\s+(\S+@\S+)\s+(\S+)", result.output, re.M)
    assert {email.split("@")[0] for email, _ in logins} >= {"admin", "chair", "auditor", "idva", "programme"}
    assert mode_of(instance / "demo-logins.txt") == 0o600

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert _counts(app) == first
    assert re.findall(r"^\s+(\S+@\S+)\s+(\S+)", again.output, re.M) == logins
    email, password = logins[0]
    assert sign_in(app.test_client(), email, password) == 302  # the printed login works


# create-agency ----------------------------------------------------------------------------------


def test_create_agency(app: Flask, runner: Any) -> None:
    result = runner.invoke(args=["create-agency", "Northtown Housing", "--kind", "housing"])
    assert result.exit_code == 0, result.output
    assert "Added agency Northtown Housing (Housing)" in result.output
    with app.app_context():
        agency = db.session.scalars(select(Agency)).one()
        assert (agency.name, agency.kind.value, agency.active) == ("Northtown Housing", "housing", True)


@pytest.mark.parametrize("args, message", [
    (["create-agency", "NORTHTOWN housing", "--kind", "police"], "already exists"),
    (["create-agency", "   ", "--kind", "police"], "Enter the agency's name"),
    (["create-agency", "Somewhere", "--kind", "bakery"], "Invalid value for '--kind'"),
    (["create-agency", "Somewhere"], "Missing option '--kind'"),
])
def test_create_agency_refuses_bad_input(app: Flask, runner: Any, args: list[str], message: str) -> None:
    assert runner.invoke(args=["create-agency", "Northtown Housing", "--kind", "housing"]).exit_code == 0
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agency)) == 1


# create-user ------------------------------------------------------------------------------------


def _create_user(runner: Any, password: str, email: str = "new@example.org", agency: str = "County Police",
                 roles: tuple[str, ...] = ("practitioner",)) -> Any:
    args = ["create-user", "--email", email, "--name", "New Person", "--agency", agency]
    for role in roles:
        args += ["--role", role]
    return runner.invoke(args=args, env={"RISKHUB_PASSWORD": password})


def test_create_user_with_password_from_the_environment(app: Flask, runner: Any, people: dict[str, Any]) -> None:
    """The new user has the roles given and signs in with the password from RISKHUB_PASSWORD."""
    result = _create_user(runner, NEW_PASSWORD, email="New@Example.org", roles=("practitioner", "chair"))
    assert result.exit_code == 0, result.output
    assert "Added user new@example.org to County Police with roles chair, practitioner" in result.output
    with app.app_context():
        user = accounts.find_user_by_email("new@example.org")
        assert user is not None and user.roles == {Role.PRACTITIONER, Role.CHAIR}
        assert NEW_PASSWORD not in user.password_hash
    assert sign_in(app.test_client(), "new@example.org", NEW_PASSWORD) == 302


@pytest.mark.parametrize("password, message", [
    ("password1234", "Password is too common"),
    ("Letmeinletmein", "Password is too common"),
    ("short-pw-1", "at least 12 characters"),
    ("k" + "x7Q-" * 32, "128 characters or fewer"),
])
def test_create_user_refuses_weak_passwords(app: Flask, runner: Any, people: dict[str, Any],
                                            password: str, message: str) -> None:
    result = _create_user(runner, password)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert accounts.find_user_by_email("new@example.org") is None


@pytest.mark.parametrize("overrides, message", [
    ({"agency": "No Such Agency"}, "No agency is named 'No Such Agency'"),
    ({"email": "not-an-email"}, "Enter an email address"),
    ({"email": "IDVA@example.org"}, "already exists"),
    ({"roles": ("overlord",)}, "Invalid value for '--role'"),
])
def test_create_user_refuses_bad_input(app: Flask, runner: Any, people: dict[str, Any],
                                       overrides: dict[str, Any], message: str) -> None:
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(User))
    result = _create_user(runner, NEW_PASSWORD, **overrides)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == before


# deactivate-user --------------------------------------------------------------------------------


def test_deactivate_user_stops_sign_in(app: Flask, runner: Any, people: dict[str, Any]) -> None:
    assert sign_in(app.test_client(), "police@example.org", PASSWORD) == 302
    result = runner.invoke(args=["deactivate-user", "police@example.org"])
    assert result.exit_code == 0, result.output
    assert "Deactivated police@example.org" in result.output
    assert sign_in(app.test_client(), "police@example.org", PASSWORD) == 400
    with app.app_context():
        assert accounts.find_user_by_email("police@example.org").active is False


def test_deactivate_unknown_user_is_refused(runner: Any, people: dict[str, Any]) -> None:
    result = runner.invoke(args=["deactivate-user", "ghost@example.org"])
    assert result.exit_code != 0
    assert "No user has that email address" in result.output


def test_check_names_a_missing_or_unreadable_audit_signing_key(instance: Path) -> None:
    """Without its signing key riskhub cannot sign access-log checkpoints: `check` says so and fails."""
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    key_file = instance / "audit-signing.key"
    assert key_file.exists()
    key_text = key_file.read_text()

    key_file.unlink()
    missing = CliRunner().invoke(cli, ["check"])
    assert missing.exit_code == 1
    assert "access-log checkpoints cannot be signed" in missing.output and "audit-signing.key" in missing.output

    key_file.write_text("not a key")
    garbled = CliRunner().invoke(cli, ["check"])
    assert garbled.exit_code == 1 and "access-log checkpoints cannot be signed" in garbled.output

    key_file.write_text(key_text)
    assert CliRunner().invoke(cli, ["check"]).exit_code == 0
