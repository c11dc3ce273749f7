"""What happens around every request: the deny-by-default guard, the commit, headers.

The request's work and its access-log entries are committed together before anything is
shown; if that commit fails, an error is shown instead, so nothing is ever shown unlogged.
Most views render first and the request's end commits, throwing the page away if the commit
fails. Pages that show case content commit first and render after (`commit_then_render`),
from what the committed transaction read, so that on SQLite the rendering is outside the
single writer's turn; the request's end then finds nothing left to commit.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, abort, g, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from riskhub import audit, crypto, policy, sqlite_lock
from riskhub.access import current_viewer
from riskhub.extensions import db, login_manager
from riskhub.forms import CONTROL_CHARACTERS

log = logging.getLogger(__name__)

# Endpoints anyone may reach. Everything else needs a signed-in user.
PUBLIC_ENDPOINTS = frozenset({"auth.sign_in", "static", "main.health", "calendar.feed"})
# What someone signed in with a password an admin set may reach before choosing their own.
OPEN_BEFORE_PASSWORD_CHANGE = frozenset({"account.change_password", "auth.sign_out", "auth.keep_alive",
                                         "auth.session_status"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL, foreign keys and a busy timeout on every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # let SQLAlchemy issue BEGIN (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock at BEGIN, so concurrent requests wait instead of failing.

    Nearly every signed-in request writes (the access log), and a WAL reader that later
    writes would otherwise fail with SQLITE_BUSY instead of waiting. A `reading_first`
    transaction only reads, so it begins deferred and waits for no one.
    """
    if connection.dialect.name == "sqlite" and sqlite_lock.reads_only():
        connection.exec_driver_sql("BEGIN")
    elif connection.dialect.name == "sqlite":
        sqlite_lock.acquire(connection)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            sqlite_lock.release(connection)
            raise


@event.listens_for(Engine, "commit")
def _sqlite_commit(connection: Any) -> None:
    if connection.dialect.name == "sqlite":
        sqlite_lock.end_then_release(connection, commit=True)


@event.listens_for(Engine, "rollback")
def _sqlite_rollback(connection: Any) -> None:
    if connection.dialect.name == "sqlite":
        sqlite_lock.end_then_release(connection, commit=False)


@event.listens_for(Pool, "close")
@event.listens_for(Pool, "invalidate")
@event.listens_for(Pool, "detach")
def _sqlite_forget(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
    sqlite_lock.forget(record.info)


class RiskhubSessionInterface(SecureCookieSessionInterface):
    """Signed cookie holding only the session token; Secure whenever served over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def _start_request() -> Any:
    g.request_id = str(uuid.uuid4())
    audit.defer()  # access-log entries are appended just before the request commits
    # No request may use the survivor contact key until the gate knows who is asking.
    crypto.set_permitted_classes({crypto.CASE_CONTENT, crypto.BLIND_INDEX})
    if CONTROL_CHARACTERS.search(request.path):  # no reference has one, and PostgreSQL cannot compare NUL
        abort(404)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.must_change_password and request.endpoint not in OPEN_BEFORE_PASSWORD_CHANGE:
        # A password an admin chose opens one page only: the one to choose your own.
        return redirect(url_for("account.change_password"))
    crypto.set_permitted_classes(policy.key_classes_for(current_viewer()))
    return None


def _withheld(reason: str) -> Response:
    """The request's work and entries could not be committed: roll back and show only an apology."""
    db.session.rollback()
    log.exception(reason)
    return Response(render_template("errors/unrecorded.html"), status=503)


def _finish_request(response: Response) -> Response:
    """Commit the request's work and audit entries (what is left after `commit_then_render`);
    fail closed if that fails."""
    if response.status_code >= 500:
        db.session.rollback()
        try:
            audit.replay_request_entries()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("access log could not be written after an error")
        return _secure_headers(response)
    try:
        audit.write_pending()  # the chain head is locked from here to the commit, briefly
        db.session.commit()
    except Exception:
        return _secure_headers(_withheld("request could not be committed; response withheld"))
    return _secure_headers(response)


def commit_then_render(template: str, *, after_commit: Callable[[], Mapping[str, Any]] | None = None,
                       **context: Any) -> str:
    """Commit the request's work and its access-log entries, then render the page from what was read.

    For pages that read case content: the entries are committed before any of it is rendered,
    so a page is only ever built from a recorded view, and if the commit fails nothing is
    rendered at all (503, as at the end of any request). The objects the view loaded keep their
    values through the commit, so rendering reads no rows again; on SQLite this takes the
    template's work out of the single writer's turn. `after_commit` adds to the context what
    is built from values already read, forms above all, once the commit is done, which takes
    that work out of the turn too; like the template it must read nothing. Anything the
    template records after this is appended by the request's own end, as for any request.
    Views must let the 503 abort through (no `except Exception` around this call).
    """
    session = db.session()
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        commit_recorded("page not rendered")
    finally:
        session.expire_on_commit = expiring
    if after_commit is not None:
        context.update(after_commit())
    return render_template(template, **context)


def commit_recorded(withheld: str) -> None:
    """Commit the request's work and its access-log entries now, before what they record is
    shown or sent; if the commit fails, abort with 503 (`withheld` says what was held back)."""
    try:
        audit.write_pending()
        db.session.commit()
    except Exception:
        audit.forget_pending()  # nothing was shown, so no view is replayed onto an error page
        abort(_withheld(f"request could not be committed; {withheld}"))
    audit.forget_pending()


def _secure_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if request.endpoint != "main.health" and g.get("request_id"):
        headers["X-Request-Id"] = g.request_id
    return response


def _end_request(_error: BaseException | None) -> None:
    crypto.set_permitted_classes(None)


def install(app: Flask) -> None:
    """Attach the request lifecycle to the app."""
    app.session_interface = RiskhubSessionInterface()
    # First of all: the request id, the deferred access log and the key limit hold before any
    # other check (a refused CSRF token included) can draw a page.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
