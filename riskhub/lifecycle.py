"""What happens around every request: the deny-by-default guard, one commit, headers.

The request's work and its access-log entries are committed together after the view has
rendered; if that commit fails, the rendered page is thrown away and an error is shown
instead, so nothing is ever shown unlogged. The busiest pages commit first and render after
(`commit_then_render`), from what the committed transaction read.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from typing import Any

from flask import Flask, Response, abort, g, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from riskhub import audit, crypto, policy, sqlite_lock
from riskhub.access import current_viewer
from riskhub.extensions import db, login_manager

log = logging.getLogger(__name__)

# Endpoints anyone may reach. Everything else needs a signed-in user.
PUBLIC_ENDPOINTS = frozenset({"auth.sign_in", "static", "main.health", "calendar.feed"})

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
    writes would otherwise fail with SQLITE_BUSY instead of waiting.
    """
    if connection.dialect.name == "sqlite":
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
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    crypto.set_permitted_classes(policy.key_classes_for(current_viewer()))
    return None


def _finish_request(response: Response) -> Response:
    """Commit the request's work and audit entries once; fail closed if that fails."""
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
        db.session.rollback()
        log.exception("request could not be committed; response withheld")
        failed = Response(render_template("errors/unrecorded.html"), status=503)
        return _secure_headers(failed)
    return _secure_headers(response)


def commit_then_render(template: str, **context: Any) -> str:
    """Commit the request's work and its access-log entries, then render the page from what was read.

    For pages that read case content: the entries are committed before any of it is rendered,
    so a page is only ever built from a recorded view, and if the commit fails nothing is
    rendered at all (503, as at the end of any request). The objects the view loaded keep their
    values through the commit, so rendering reads no rows again; on SQLite this takes the
    template's work out of the single writer's turn. Anything the template records after this
    is appended by the request's own end, as for any request.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        audit.write_pending()
        session.commit()
    except Exception:
        session.rollback()
        audit.forget_pending()  # nothing was shown, so no view is replayed onto an error page
        log.exception("request could not be committed; page not rendered")
        abort(Response(render_template("errors/unrecorded.html"), status=503))
    finally:
        session.expire_on_commit = True
    audit.forget_pending()
    return render_template(template, **context)


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
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
