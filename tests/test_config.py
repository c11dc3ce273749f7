"""Outside testing riskhub refuses a weak setup with a one-line reason; `riskhub check` says the same."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from riskhub import ConfigurationError, create_app
from riskhub.cli import cli
from riskhub.crypto import Keyring
from riskhub.operations.audit_checkpoints import generate_key_file

RISKHUB_BIN = Path(sys.executable).parent / "riskhub"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No RISKHUB_* or FLASK_DEBUG from outside; an empty instance folder of our own."""
    for name in list(os.environ):
        if name.startswith("RISKHUB_") or name == "FLASK_DEBUG":
            monkeypatch.delenv(name)
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("RISKHUB_INSTANCE_PATH", str(instance))
    return instance


def new_keyring(path: Path) -> Path:
    Keyring.generate().save(path)
    return path


def sound_config(tmp_path: Path) -> dict[str, Any]:
    """A setup riskhub accepts outside testing."""
    return {
        "TESTING": False,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "KEYRING_FILE": str(new_keyring(tmp_path / "keyring.json")),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'riskhub.sqlite3'}",
    }


def refusal(config: dict[str, Any]) -> str:
    """The reason create_app gives for refusing to start; it must be one line."""
    with pytest.raises(ConfigurationError) as caught:
        create_app(config)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("riskhub will not start: ")
    return message


def test_sound_setup_starts(tmp_path: Path) -> None:
    """A long random secret, a private keyring and a database: the app starts and answers."""
    app = create_app(sound_config(tmp_path))
    assert not app.testing
    assert app.test_client().get("/health").status_code == 200


def test_keyring_from_the_environment_needs_no_file(tmp_path: Path) -> None:
    """RISKHUB_KEYRING (the JSON itself) is accepted without a keyring file."""
    config = {**sound_config(tmp_path), "KEYRING_FILE": str(tmp_path / "absent.json"),
              "KEYRING": Keyring.generate().to_json()}
    assert not create_app(config).testing


def test_missing_secret_key_is_refused(tmp_path: Path) -> None:
    assert "SECRET_KEY is not set" in refusal({**sound_config(tmp_path), "SECRET_KEY": None})


@pytest.mark.parametrize("secret", ["changeme", "short-but-random-Xy7", "ab" * 20, "riskhub"])
def test_weak_secret_key_is_refused(tmp_path: Path, secret: str) -> None:
    assert "SECRET_KEY is weak" in refusal({**sound_config(tmp_path), "SECRET_KEY": secret})


def test_missing_keyring_is_refused(tmp_path: Path) -> None:
    message = refusal({**sound_config(tmp_path), "KEYRING_FILE": str(tmp_path / "nowhere.json")})
    assert "nowhere.json is missing" in message


def test_unreadable_keyring_is_refused(tmp_path: Path) -> None:
    """A keyring path that cannot be read as a file (here: a directory) is refused."""
    folder = tmp_path / "keyring-dir"
    folder.mkdir(mode=0o700)
    assert f"keyring {folder} is unreadable" in refusal({**sound_config(tmp_path), "KEYRING_FILE": str(folder)})


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_keyring_without_read_permission_is_refused(tmp_path: Path) -> None:
    config = sound_config(tmp_path)
    os.chmod(config["KEYRING_FILE"], 0o000)
    assert "is unreadable" in refusal(config)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_keyring_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    config = sound_config(tmp_path)
    os.chmod(config["KEYRING_FILE"], mode)
    assert "is readable by other users: chmod 600 it" in refusal(config)


def test_debug_under_production_is_refused(tmp_path: Path) -> None:
    config = {**sound_config(tmp_path), "ENV_NAME": "production", "DEBUG": True,
              "SQLALCHEMY_DATABASE_URI": "postgresql://riskhub@db.internal/riskhub"}
    message = refusal(config)
    assert "DEBUG is on under the production setting" in message
    assert "PostgreSQL" not in message


@pytest.mark.parametrize("variable", ["RISKHUB_DEBUG", "FLASK_DEBUG"])
def test_debug_from_the_environment_under_production_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                variable: str) -> None:
    """Debug switched on by environment (including `flask --debug`) counts too."""
    monkeypatch.setenv("RISKHUB_ENV_NAME", "production")
    monkeypatch.setenv("RISKHUB_DATABASE_URL", "postgresql://riskhub@db.internal/riskhub")
    monkeypatch.setenv(variable, "1")
    config = sound_config(tmp_path)
    del config["SQLALCHEMY_DATABASE_URI"]
    assert "DEBUG is on under the production setting" in refusal(config)


def test_production_refuses_sqlite(tmp_path: Path) -> None:
    assert "production needs PostgreSQL" in refusal({**sound_config(tmp_path), "ENV_NAME": "production"})


def test_several_problems_are_all_named_on_one_line(tmp_path: Path) -> None:
    message = refusal({**sound_config(tmp_path), "SECRET_KEY": "dev", "KEYRING_FILE": str(tmp_path / "x.json")})
    assert "SECRET_KEY is weak" in message and "x.json is missing" in message


def test_environment_overrides_instance_config(tmp_path: Path, clean_environment: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A weak RISKHUB_SECRET_KEY in the environment wins over a sound one in instance/config.py."""
    (clean_environment / "config.py").write_text(f"SECRET_KEY = {secrets.token_urlsafe(48)!r}\n")
    monkeypatch.setenv("RISKHUB_SECRET_KEY", "changeme")
    config = sound_config(tmp_path)
    del config["SECRET_KEY"]
    assert "SECRET_KEY is weak" in refusal(config)


# riskhub check -------------------------------------------------------------------------------


def _sound_instance(instance: Path) -> None:
    (instance / "config.py").write_text(f"SECRET_KEY = {secrets.token_urlsafe(48)!r}\n")
    new_keyring(instance / "keyring.json")
    generate_key_file(instance / "audit-signing.key")


def test_check_fails_on_an_empty_instance(clean_environment: Path) -> None:
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code != 0
    assert "problem: SECRET_KEY is not set" in result.output
    assert "keyring.json is missing" in result.output


def test_check_names_a_world_readable_keyring(clean_environment: Path) -> None:
    _sound_instance(clean_environment)
    os.chmod(clean_environment / "keyring.json", 0o644)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code != 0
    assert "readable by other users" in result.output
    assert "SECRET_KEY" not in result.output


def test_check_passes_on_a_sound_setup(clean_environment: Path) -> None:
    _sound_instance(clean_environment)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0, result.output
    assert "Configuration is sound" in result.output
    assert "problem" not in result.output


def test_command_on_a_weak_setup_ends_with_one_line_not_a_traceback(clean_environment: Path) -> None:
    """The installed `riskhub` command exits non-zero with the reason, without a traceback."""
    env = {**os.environ, "RISKHUB_INSTANCE_PATH": str(clean_environment)}
    done = subprocess.run([str(RISKHUB_BIN), "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "riskhub will not start: SECRET_KEY is not set" in done.stderr
    lines = [line for line in done.stderr.splitlines() if "will not start" in line]
    assert len(lines) == 1
