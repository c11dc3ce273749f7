"""Pages showing case content read all of it in the transaction that records the view.

They commit their access-log entries and then render (`lifecycle.commit_then_render`), so that
on SQLite the template's work is done outside the single writer's turn. A row the template
loaded for itself would be read after that commit, outside the recorded transaction: these
tests follow each request's statements and commits and fail on any statement after the first
commit, which must carry the page's access-log entries.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event, select

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from riskhub.models.cases import Case
from riskhub.models.meetings import AgendaItem
from tests.conftest import post_form
from tests.test_meetings import SOON, world


class Statements:
    """The statements and commits of the requests made while it is open, in order."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine = db.engine
        self.seen: list[str] = []

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.seen.append(" ".join(statement.split()))

    def _commit(self, _conn: Any) -> None:
        self.seen.append("COMMIT")

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)

    def after_the_first_commit(self) -> list[str]:
        """Statements run after the request's first commit (the one before rendering)."""
        return [s for s in self.seen[self.seen.index("COMMIT") + 1:] if s != "COMMIT"]

    def logged_before_the_first_commit(self) -> bool:
        return any(s.startswith("INSERT INTO access_log") for s in self.seen[:self.seen.index("COMMIT")])


def read_then_render(app: Flask, client: Any, url: str, *shown: str, logged: bool = True) -> str:
    with Statements(app) as statements:
        response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, url
    for text in shown:
        assert text in page, (url, text)
    assert statements.logged_before_the_first_commit() is logged, url
    assert statements.after_the_first_commit() == [], url
    return page


def test_pages_render_only_what_their_recorded_transaction_read(app, client, auth, people, make):
    w = world(app, client, auth, people, make, contact={"address": "1 Quiet Lane", "phone": "07700 900123"})
    meeting = w["meeting"]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    post_form(client, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    with app.app_context():
        items = {i.case.reference: i.id for i in db.session.scalars(
            select(AgendaItem).where(AgendaItem.case_id.is_not(None)))}
    adult_item = f"/meetings/{meeting}/run?item={items[w['adult']]}"
    post_form(client, f"/meetings/{meeting}/run/{items[w['adult']]}/actions", {
        "description": "Fit window alarms", "deadline": SOON.isoformat(),
        "owner_agency": str(people["idva_agency"]), "owner_user": str(people["idva"])}, page=adult_item)

    read_then_render(app, client, f"/meetings/{meeting}/run?item={items[w['family']]}",
                     f"Case {w['family']}", "Kit (6)")
    read_then_render(app, client, adult_item, "Fit window alarms", "Idva (Riverside IDVA)")
    read_then_render(app, client, f"/meetings/{meeting}", w["adult"], w["family"], "Riverside IDVA")
    auth.logout()

    auth.login("idva@example.org")
    case_page = read_then_render(app, client, f"/cases/{w['adult']}", "Ada Adult", "1 Quiet Lane", "07700 900123",
                                 "SURVIVOR-ONLY-NOTE", "Fit window alarms")
    assert "Change contact and location details" in case_page
    read_then_render(app, client, "/actions/mine", "Fit window alarms", w["adult"])
    read_then_render(app, client, "/", "Dashboard", "1 open", logged=False)  # counts only: no case content
    with app.app_context():  # each page's view is on record
        actions = set(db.session.scalars(select(AccessLogEntry.action).where(
            AccessLogEntry.case_ref == w["adult"])))
        assert {"meeting.case_view", "agenda.view", "case.view", "actions.list"} <= actions
        assert db.session.scalar(select(Case.id).where(Case.reference == w["adult"])) is not None
