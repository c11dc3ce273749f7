"""On SQLite a transaction holds the writer turn (a flock beside the database) until it ends."""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text

from riskhub.extensions import db
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the writer turn is SQLite's")


def turn_is_free(path: str) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_a_transaction_holds_the_turn_until_it_ends_and_the_next_one_then_runs(app: Flask, ending: str) -> None:
    with app.app_context():
        engine = db.engine
        lock = f"{engine.url.database}-writer.lock"
        order: list[str] = []
        with engine.connect() as first:
            first.execute(text("SELECT 1"))  # BEGIN IMMEDIATE, after taking the turn
            assert not turn_is_free(lock)

            def second() -> None:
                with engine.begin() as other:
                    order.append("second began")
                    other.execute(text("SELECT 1"))

            waiting = threading.Thread(target=second)
            waiting.start()
            waiting.join(0.5)
            assert waiting.is_alive() and order == []  # still waiting for the turn
            order.append("first ended")
            first.commit() if ending == "commit" else first.rollback()
            waiting.join(20)
        assert order == ["first ended", "second began"]
        assert turn_is_free(lock)


def test_a_failed_request_gives_the_turn_back(app: Flask, client: Any) -> None:
    """An error inside a transaction (here a bad statement) ends it and frees the turn."""
    with app.app_context():
        lock = f"{db.engine.url.database}-writer.lock"
        with pytest.raises(Exception, match="no such table"):  # noqa: PT011 - the driver's own error
            db.session.execute(text("SELECT * FROM no_such_table"))
        db.session.rollback()
        assert turn_is_free(lock)
        assert client.get("/health").status_code == 200
        assert turn_is_free(lock)


def test_a_signed_in_request_finds_its_session_while_another_holds_the_turn(app: Flask, client: Any, auth: Any,
                                                                           people: Any) -> None:
    """Whose session it is only reads, so it is found without waiting; the page's own work
    (it writes the access log) waits for the turn, and the session's activity is then stored."""
    auth.login("idva@example.org")
    with app.app_context():
        engine = db.engine
    found = threading.Event()

    def session_lookup(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM user_sessions" in statement:
            found.set()

    responses: list[Any] = []
    event.listen(engine, "before_cursor_execute", session_lookup)
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT 1"))  # takes the turn
            request = threading.Thread(target=lambda: responses.append(client.get("/actions/mine")))
            request.start()
            assert found.wait(10), "the session was not looked up while another transaction held the turn"
            request.join(0.3)
            assert request.is_alive() and responses == []  # the page waits for the turn
            holder.commit()
            request.join(20)
    finally:
        event.remove(engine, "before_cursor_execute", session_lookup)
    assert responses[0].status_code == 200
    assert "My actions" in responses[0].get_data(as_text=True)
