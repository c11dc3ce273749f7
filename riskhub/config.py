"""Configuration: defaults, then instance/config.py, then RISKHUB_* environment variables.

`check_configuration` is what makes riskhub refuse to start on a weak setup; it returns
one-line reasons so both `create_app` and `riskhub check` can report them.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "ENV_NAME": "development",  # "production" turns on the production checks
    "DEBUG": False,
    "TESTING": False,
    "SECRET_KEY": None,
    "SQLALCHEMY_DATABASE_URI": None,  # None: SQLite file in instance/
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "KEYRING_FILE": None,  # None: instance/keyring.json
    "KEYRING": None,  # JSON text of a keyring, for containers (overrides the file)
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_ABSOLUTE_HOURS": 12,
    "SESSION_COOKIE_NAME": "riskhub_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # forced on for requests that arrive over https
    "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the server-side session
    # Flask-WTF's https check demands a Referer header, but every page sends
    # Referrer-Policy: no-referrer, so browsers send none and every form would be refused.
    # The token (tied to the signed session cookie) and SameSite cookies protect the forms.
    "WTF_CSRF_SSL_STRICT": False,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "PROXY_FIX": 0,  # number of trusted proxies in front (X-Forwarded-*)
    "SIGNIN_ACCOUNT_FREE_FAILURES": 5,
    "SIGNIN_ADDRESS_FREE_FAILURES": 20,
    "SIGNIN_MAX_LOCK_SECONDS": 900,
    "BLIND_INDEX_EXPECTED_ROWS": 100_000,
    "CASE_REFERENCE_PREFIX": "RH",
    "ASSESSMENT_FORMS_DIR": None,  # None: instance/assessments (an area's own form versions)
    "ASSESSMENT_FORM_KEYS": {"survivor": "survivor-ric", "perpetrator": "perpetrator-spj"},
    "RISK_THRESHOLDS": {},  # e.g. {"survivor-ric": {"medium": 10, "high": 14}}; defaults from the form
    "ESCALATION_CALLOUTS": 5,  # police call-outs in 12 months that suggest escalation
    "REASSESS_AFTER_DAYS": 90,
    "REPEAT_WINDOW_DAYS": 365,
    "EMERGENCY_ACCESS_HOURS": 4,
    "BASE_URL": "http://127.0.0.1:5000",  # used in emails and calendar feeds
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": 25,
    "SMTP_STARTTLS": False,
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_FROM": "riskhub@localhost",
    "ARGON2_TIME_COST": 0,  # 0: argon2-cffi's recommended defaults (passwords.py)
    "ARGON2_MEMORY_KIB": 0,
    "ARGON2_PARALLELISM": 0,
    "AUDIT_SIGNING_KEY": None,  # Ed25519 key (PEM or base64 seed) signing access-log checkpoints
    "AUDIT_SIGNING_KEY_FILE": None,  # None: instance/audit-signing.key (written by `riskhub init`)
    "AUDIT_CHECKPOINT_EVERY": 1000,  # sign a checkpoint every N access-log entries (0: on demand only)
    "AUDIT_CHECKPOINT_MINUTES": 60,  # ...and once this long has passed since the latest (0: never by time)
    "AUDIT_PAGE_SIZE": 50,
    "AUDIT_MAX_RANGE_DAYS": 366,  # the longest date range one search may cover
    "AUDIT_EXPORT_MAX_ROWS": 10_000,  # entries per CSV file; the next file continues after the last
    "AUDIT_REVIEW_DAYS": 31,  # how far back the review queues look
    "AUDIT_BULK_CASES": 20,  # more distinct cases than this ...
    "AUDIT_BULK_MINUTES": 60,  # ... within this many minutes is bulk access
    "AUDIT_WORKING_HOURS": "07:00-19:00",  # local time; outside it (or the days below) is flagged
    "AUDIT_WORKING_DAYS": "Mon,Tue,Wed,Thu,Fri",
    "AUDIT_TIMEZONE": "Europe/London",
    "AUDIT_STATEMENT_TIMEOUT_MS": 5000,  # PostgreSQL: an auditor's query stops rather than hog the server
    "SHARING_LEGAL_BASES": {
        "safeguarding": "Safeguarding (DPA 2018, Schedule 8: safeguarding of individuals at risk)",
        "public_task": "Public task (UK GDPR article 6(1)(e))",
        "vital_interests": "Vital interests: life or death (UK GDPR article 6(1)(d))",
        "consent": "Consent (UK GDPR article 6(1)(a))",
        "legitimate_interest": "Legitimate interest (UK GDPR article 6(1)(f))",
        "legal_obligation": "Legal obligation or court order (UK GDPR article 6(1)(c))",
        "crime_prevention": "Prevention or detection of crime (DPA 2018, Schedule 2)",
    },
    "RETENTION_DAYS": {"closed": 2190},  # case status -> days in that status before `riskhub purge`
}

ENV_PREFIX = "RISKHUB_"
_MIN_SECRET_LENGTH = 32
_WEAK_SECRETS = {"dev", "development", "secret", "changeme", "change-me", "test", "riskhub"}


def _coerce(value: str, current: Any) -> Any:
    """Turn an environment string into the type of the current setting."""
    if isinstance(current, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(value)
    return value


def load_configuration(instance_path: str, test_config: dict[str, Any] | None) -> dict[str, Any]:
    """Merge defaults, instance/config.py, the environment and test overrides."""
    config = dict(DEFAULTS)
    config_file = Path(instance_path) / "config.py"
    if config_file.is_file():
        namespace: dict[str, Any] = {}
        exec(compile(config_file.read_text(), str(config_file), "exec"), namespace)  # noqa: S102
        config.update({k: v for k, v in namespace.items() if k.isupper()})
    for name, value in os.environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):]
        if key == "DATABASE_URL":
            config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(value)
        elif key in config or key in {"SECRET_KEY", "KEYRING", "KEYRING_FILE", "ENV_NAME"}:
            config[key] = _coerce(value, config.get(key))
    if _coerce(os.environ.get("FLASK_DEBUG", ""), False):
        # `flask --debug` / FLASK_DEBUG turn the debugger on after start-up: count it here so
        # the production check sees it.
        config["DEBUG"] = True
    if test_config:
        config.update(test_config)
    if config["SQLALCHEMY_DATABASE_URI"] is None:
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(instance_path) / "riskhub.sqlite3"
        )
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    if config["KEYRING_FILE"] is None:
        config["KEYRING_FILE"] = str(Path(instance_path) / "keyring.json")
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    return config


def normalise_database_url(url: str) -> str:
    """Select psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def secret_key_problem(secret: str | None) -> str | None:
    """Say why a secret key is unacceptable, or None when it is fine."""
    if not secret:
        return "SECRET_KEY is not set (run `riskhub init`)"
    if len(secret) < _MIN_SECRET_LENGTH or secret.lower() in _WEAK_SECRETS:
        return f"SECRET_KEY is weak: use at least {_MIN_SECRET_LENGTH} random characters"
    if len(set(secret)) < 10:
        return "SECRET_KEY is weak: too few distinct characters"
    return None


def keyring_file_problem(path: str) -> str | None:
    """Say why the keyring file cannot be trusted, or None when it is fine."""
    keyfile = Path(path)
    if not keyfile.exists():
        return f"keyring {keyfile} is missing (run `riskhub init`)"
    try:
        mode = keyfile.stat().st_mode
        with keyfile.open("rb"):
            pass
    except OSError as error:
        return f"keyring {keyfile} is unreadable: {error.strerror}"
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"keyring {keyfile} is readable by other users: chmod 600 it"
    return None


def check_configuration(config: dict[str, Any]) -> list[str]:
    """Return one-line reasons why this configuration must not serve requests."""
    problems = []
    secret = secret_key_problem(config.get("SECRET_KEY"))
    if secret:
        problems.append(secret)
    if not config.get("KEYRING"):
        keyring = keyring_file_problem(config["KEYRING_FILE"])
        if keyring:
            problems.append(keyring)
    if config.get("ENV_NAME") == "production":
        if config.get("DEBUG"):
            problems.append("DEBUG is on under the production setting")
        if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            problems.append("production needs PostgreSQL: set RISKHUB_DATABASE_URL")
    return problems
