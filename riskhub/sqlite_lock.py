"""SQLite's writer turn, handed over at once instead of polled for.

Every riskhub transaction on SQLite but one starts with BEGIN IMMEDIATE (it writes the access log, and
a WAL reader that later writes would fail instead of waiting). SQLite's own busy handler waits
for the write lock by sleeping in steps of up to 100 ms, so under load a request often sleeps
long after the lock was free, and an unlucky one waits seconds. Here each transaction first
takes an exclusive `flock` on a file beside the database, which the kernel hands to the next
waiter the moment it is released, and gives it up right after its COMMIT or ROLLBACK.

A thread that already holds the turn through another connection does not wait for itself: it
falls back to SQLite's busy timeout, which fails after a bounded wait as before.

The one: a request's first step, finding whose session it is, only reads. It runs in a
transaction of its own that starts deferred and takes no turn (`reading_first`), so the turn
starts with the request's own work. The session is then read a moment before the rest, as on
PostgreSQL, where each statement of a transaction reads what was committed when it ran.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

_FD = "riskhub.sqlite_lock_fd"
_HELD = "riskhub.sqlite_lock_held"
_local = threading.local()


def _lock_path(connection: Any) -> str | None:
    database = connection.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writer.lock"


def _held_paths() -> set[str]:
    if not hasattr(_local, "paths"):
        _local.paths = set()
    paths: set[str] = _local.paths
    return paths


def reads_only() -> bool:
    """Whether the transaction about to begin is a `reading_first` one (BEGIN, no turn)."""
    return getattr(_local, "reading", False)


@contextmanager
def reading_first(session: Session) -> Iterator[None]:
    """Run the block, which must only read, in a transaction of its own that waits for no
    writer: on SQLite it starts with a deferred BEGIN and takes no turn, and ends when the block
    does, keeping the values the block loaded (the next statement begins the usual transaction,
    with the turn). Elsewhere, or once the session has begun or holds changes, the block simply
    runs in the session's transaction."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or session.in_transaction() or session.new or session.dirty or session.deleted:
        yield
        return
    _local.reading = True
    try:
        yield
        assert not (session.new or session.dirty or session.deleted), "a reading_first block changed something"
    except BaseException:
        session.rollback()
        raise
    finally:
        _local.reading = False
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()  # ends a transaction that wrote nothing
    finally:
        session.expire_on_commit = expiring


def acquire(connection: Any) -> None:
    """Wait for this database's writer turn (called just before BEGIN IMMEDIATE)."""
    path = _lock_path(connection)
    if path is None or path in _held_paths():
        return
    info = connection.connection.info
    fd = info.get(_FD)
    if fd is None:
        fd = info[_FD] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    info[_HELD] = path
    _held_paths().add(path)


def release(connection: Any) -> None:
    """Give the turn up (after the transaction ended or failed to begin)."""
    info = connection.connection.info
    path = info.pop(_HELD, None)
    if path is None:
        return
    _held_paths().discard(path)
    fcntl.flock(info[_FD], fcntl.LOCK_UN)


def end_then_release(connection: Any, commit: bool) -> None:
    """Finish the transaction on the driver connection now, then hand the turn on.

    SQLAlchemy's own COMMIT/ROLLBACK follows and finds no transaction left, which the sqlite3
    driver treats as nothing to do.
    """
    if _HELD not in connection.connection.info:
        return
    try:
        driver = connection.connection.dbapi_connection
        driver.commit() if commit else driver.rollback()
    finally:
        release(connection)


def forget(info: dict[str, Any]) -> None:
    """The driver connection is being closed or discarded: closing the file frees any turn it held."""
    fd = info.pop(_FD, None)
    path = info.pop(_HELD, None)
    if path is not None:
        _held_paths().discard(path)
    if fd is not None:
        os.close(fd)
