"""Fixtures after the Flask tutorial: app, client, runner, auth, plus data factories.

The suite runs on SQLite by default and on PostgreSQL when RISKHUB_TEST_BACKEND=postgresql
(with RISKHUB_TEST_DATABASE_URL pointing at a server). The schema is built once per run by
the real migrations; each test starts from empty tables. CSRF protection stays on.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from riskhub import create_app
from riskhub.crypto import Keyring

BACKEND = os.environ.get("RISKHUB_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("RISKHUB_TEST_DATABASE_URL", "")
PASSWORD = "correct-horse-battery-7"
_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def postgres_reachable(url: str) -> bool:
    if not url:
        return False
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Where this run's data lives: a SQLite file, or a private PostgreSQL schema."""
    if BACKEND != "postgresql":
        path = tmp_path_factory.mktemp("db") / "riskhub.sqlite3"
        yield {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SQLALCHEMY_ENGINE_OPTIONS": {}}
        return
    if not postgres_reachable(PG_URL):
        pytest.skip("PostgreSQL is not reachable at RISKHUB_TEST_DATABASE_URL")
    import psycopg

    schema = f"riskhub_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield {
        "SQLALCHEMY_DATABASE_URI": PG_URL,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
        "PG_SCHEMA": schema,
    }
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def keyring_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keyring.json"
    Keyring.generate().save(path)
    return path


@pytest.fixture(scope="session")
def schema_ready(database: dict[str, Any], keyring_file: Path) -> bool:
    """Build the schema once per run through the real migrations."""
    app = create_app(base_config(database, keyring_file))
    from riskhub.cli import migrate_database

    with app.app_context():
        migrate_database()
        from riskhub.extensions import db

        db.engine.dispose()
    return True


def base_config(database: dict[str, Any], keyring_file: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-and-random-0123456789",
        "KEYRING_FILE": str(keyring_file),
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "SERVER_NAME": None,
        "AUDIT_CHECKPOINT_MINUTES": 0,  # checkpoints by count only, so tests can count them
        **{k: v for k, v in database.items() if k != "PG_SCHEMA"},
    }


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change settings for its app."""
    return {}


def empty_tables(app: Flask) -> None:
    from riskhub import audit
    from riskhub.extensions import db

    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            for name in tables:
                db.session.execute(text(f"DELETE FROM {name}"))
        db.session.commit()
        audit.ensure_chain_head()
        db.session.commit()


@pytest.fixture
def app(database: dict[str, Any], keyring_file: Path, schema_ready: bool,
        app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app({**base_config(database, keyring_file), **app_config})
    empty_tables(application)
    yield application
    from riskhub.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def hidden_value(html: str, name: str) -> str:
    """The value of a hidden field on a page (a record's version, say)."""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*type="hidden"[^>]*value="([^"]*)"', html)
    assert match, f"page has no hidden {name} field"
    return match.group(1)


def post_form(client: FlaskClient, url: str, data: dict[str, Any], *, page: str | None = None,
              follow_redirects: bool = False, hidden: tuple[str, ...] = ()) -> Any:
    """Submit a form as a browser would: load its page for the CSRF token (and the `hidden`
    fields named, such as the version of the record it edits), then POST."""
    html = client.get(page or url).get_data(as_text=True)
    kept = {name: hidden_value(html, name) for name in hidden}
    return client.post(url, data={**kept, **data, "csrf_token": csrf_token(html)},
                       follow_redirects=follow_redirects)


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD, follow_redirects: bool = False) -> Any:
        return post_form(self.client, "/signin", {"email": email, "password": password},
                         follow_redirects=follow_redirects)

    def logout(self) -> Any:
        return post_form(self.client, "/signout", {}, page="/")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


class Factory:
    """Make agencies, users and cases through the real operations layer."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def agency(self, name: str, kind: str = "survivor_support") -> uuid.UUID:
        from riskhub import audit
        from riskhub.extensions import db
        from riskhub.models.accounts import AgencyKind
        from riskhub.operations import accounts

        with self.app.app_context():
            agency = accounts.create_agency(name, AgencyKind(kind), actor=audit.SYSTEM)
            db.session.commit()
            return agency.id

    def user(self, email: str, agency_id: uuid.UUID, roles: tuple[str, ...] = ("practitioner",),
             name: str | None = None, password: str = PASSWORD) -> uuid.UUID:
        from riskhub import audit
        from riskhub.extensions import db
        from riskhub.models.accounts import Agency, Role
        from riskhub.operations import accounts

        with self.app.app_context():
            user = accounts.create_user(
                agency=db.session.get(Agency, agency_id), email=email, name=name or email.split("@")[0].title(),
                roles={Role(r) for r in roles}, password=password, actor=audit.SYSTEM,
            )
            db.session.commit()
            return user.id

    def case(self, creator_id: uuid.UUID, *, survivor: tuple[str, str, Any] = ("Ann", "Example", None),
             perpetrator: tuple[str, str, Any] = ("Bob", "Example", None), contact: dict[str, str] | None = None,
             involve: tuple[uuid.UUID, ...] = ()) -> str:
        from riskhub.extensions import db
        from riskhub.models.accounts import Agency, User
        from riskhub.operations import cases

        with self.app.app_context():
            creator = db.session.get(User, creator_id)
            case = cases.create_case(
                creator=creator, survivor=cases.PersonDetails(*survivor),
                perpetrators=[cases.PersonDetails(*perpetrator)],
                contact=cases.ContactDetails(**(contact or {})),
            )
            for agency_id in involve:
                cases.involve_agency(case, db.session.get(Agency, agency_id), by=creator)
            db.session.commit()
            return case.reference


    def protocol(self, party_ids: tuple[uuid.UUID, ...], *, title: str = "Programme and survivor services",
                 flows: tuple[tuple[str, str], ...] | None = None, effective_from: Any = None,
                 review_on: Any = None) -> uuid.UUID:
        """A protocol in force letting programme attendance, non-compliance, risk and completion
        reach the survivor side (or the flows given)."""
        from datetime import date, timedelta

        from riskhub.extensions import db
        from riskhub.models.partnerships import Category, FlowDirection
        from riskhub.operations import partnerships

        default = tuple((c, "to_survivor_side") for c in ("attendance", "non_compliance", "risk_events", "completion"))
        plan = partnerships.ProtocolPlan(
            title=title, party_agency_ids=frozenset(party_ids),
            effective_from=effective_from or date.today() - timedelta(days=30),
            review_on=review_on or date.today() + timedelta(days=335), legal_basis="safeguarding",
            flows=frozenset((Category(c), FlowDirection(d)) for c, d in (flows or default)),
        )
        with self.app.app_context():
            protocol = partnerships.create_protocol(plan, by=None)
            db.session.commit()
            return protocol.id


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)


@pytest.fixture
def people(make: Factory) -> dict[str, Any]:
    """A small world: a survivor service, a programme, police; a user of every role."""
    ids: dict[str, Any] = {
        "idva_agency": make.agency("Riverside IDVA", "survivor_support"),
        "programme_agency": make.agency("Change Programme", "perpetrator_programme"),
        "police_agency": make.agency("County Police", "police"),
    }
    ids["idva"] = make.user("idva@example.org", ids["idva_agency"])
    ids["programme"] = make.user("programme@example.org", ids["programme_agency"])
    ids["police"] = make.user("police@example.org", ids["police_agency"])
    ids["chair"] = make.user("chair@example.org", ids["police_agency"], ("chair", "practitioner"))
    ids["auditor"] = make.user("auditor@example.org", ids["police_agency"], ("auditor",))
    ids["admin"] = make.user("admin@example.org", ids["police_agency"], ("admin",))
    ids["protocol"] = make.protocol((ids["idva_agency"], ids["programme_agency"], ids["police_agency"]))
    return ids


# A real SMTP server (aiosmtpd) for the mail tests --------------------------------------------


class Inbox:
    """Collects what the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        from email import message_from_bytes

        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_port() -> int:
    """A free port; a module's app_config points SMTP_PORT at it."""
    return free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    """An SMTP server listening on smtp_port for the test."""
    from aiosmtpd.controller import Controller

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()
