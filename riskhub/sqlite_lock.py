"""SQLite's writer turn, handed over at once instead of polled for.

Every riskhub transaction on SQLite starts with BEGIN IMMEDIATE (it writes the access log, and
a WAL reader that later writes would fail instead of waiting). SQLite's own busy handler waits
for the write lock by sleeping in steps of up to 100 ms, so under load a request often sleeps
long after the lock was free, and an unlucky one waits seconds. Here each transaction first
takes an exclusive `flock` on a file beside the database, which the kernel hands to the next
waiter the moment it is released, and gives it up right after its COMMIT or ROLLBACK.

A thread that already holds the turn through another connection does not wait for itself: it
falls back to SQLite's busy timeout, which fails after a bounded wait as before.
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

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
