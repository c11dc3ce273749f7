"""Pages showing case content record the view, commit, and only then render.

They commit their access-log entries before rendering (`lifecycle.commit_then_render`), so that
on SQLite the template's work is done outside the single writer's turn, and they must have read
everything the template shows before that commit: a row the template loaded for itself would be
read outside the recorded transaction. These tests follow one request's statements, commits and
template renders in order.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, before_render_template
from sqlalchemy import event, select

from riskhub.extensions import db
from riskhub.models.audit import AccessLogEntry
from riskhub.models.meetings import AgendaItem
from tests.conftest import post_form
from tests.test_meetings import SOON, refer, review_at_next_meeting, world

INSERT_ENTRIES = "INSERT INTO access_log"


class Sequence:
    """The statements, commits and template renders of the requests made while it is open."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            self.engine = db.engine
        self.seen: list[str] = []

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.seen.append(" ".join(statement.split()))

    def _commit(self, _conn: Any) -> None:
        self.seen.append("COMMIT")

    def _render(self, _app: Flask, template: Any, **_context: Any) -> None:
        self.seen.append(f"RENDER {template.name}")

    def __enter__(self) -> Sequence:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        before_render_template.connect(self._render, self.app)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        before_render_template.disconnect(self._render, self.app)


def read_then_render(app: Flask, client: Any, url: str, *shown: str, hidden: tuple[str, ...] = (),
                     logged: bool = True) -> str:
    """GET a page; check what it shows, and that its entries were committed before it was rendered
    with nothing read after that commit."""
    with Sequence(app) as sequence:
        response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, url
    for text in shown:
        assert text in page, (url, text)
    for text in hidden:
        assert text not in page, (url, text)
    seen = sequence.seen
    render = next(i for i, s in enumerate(seen) if s.startswith("RENDER"))
    commits = [i for i in range(render) if seen[i] == "COMMIT"]
    assert commits, (url, "the page is rendered after the commit")
    assert len(commits) <= 2, (url, seen)
    commit, start = commits[-1], (commits[0] if len(commits) == 2 else -1)
    # Before the recorded transaction only the session may be looked up (on SQLite, in a
    # transaction of its own, outside the writer's turn).
    assert all(s.startswith(("BEGIN", "SELECT user_sessions")) for s in seen[:start + 1] if s != "COMMIT"), \
        (url, seen[:start + 1])
    inserts = [i for i, s in enumerate(seen) if s.startswith(INSERT_ENTRIES)]
    assert len(inserts) == (1 if logged else 0), (url, "entries are appended once")
    assert all(start < i < commit for i in inserts), (url, "entries are in the recorded transaction")
    after = [s for s in seen[commit + 1:] if s != "COMMIT" and not s.startswith("RENDER")]
    assert after == [], (url, after)
    return page


def entries(app: Flask, action: str, reference: str) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AccessLogEntry).where(
            AccessLogEntry.action == action, AccessLogEntry.case_ref == reference)).all())


def test_pages_render_only_what_their_recorded_transaction_read(app, client, auth, people, make):
    w = world(app, client, auth, people, make, contact={"address": "1 Quiet Lane", "phone": "07700 900123"})
    meeting, adult = w["meeting"], w["adult"]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    post_form(client, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    with app.app_context():
        items = {i.case.reference: i.id for i in db.session.scalars(
            select(AgendaItem).where(AgendaItem.case_id.is_not(None)))}
    adult_item = f"/meetings/{meeting}/run?item={items[adult]}"
    post_form(client, f"/meetings/{meeting}/run/{items[adult]}/actions", {
        "description": "Fit window alarms", "deadline": SOON.isoformat(),
        "owner_agency": str(people["idva_agency"]), "owner_user": str(people["idva"])}, page=adult_item)

    read_then_render(app, client, f"/meetings/{meeting}/run?item={items[w['family']]}",
                     f"Case {w['family']}", "Kit (6)")
    read_then_render(app, client, adult_item, "Fit window alarms", "Idva (Riverside IDVA)")
    read_then_render(app, client, f"/meetings/{meeting}", adult, w["family"], "Riverside IDVA")

    # The next meeting reviews the open action: the review shows the case and logs it.
    post_form(client, f"/meetings/{meeting}/run/close", {}, page=adult_item)
    following, review = review_at_next_meeting(app, client, [people["idva_agency"], people["police_agency"]])
    before = entries(app, "meeting.actions_review", adult)
    read_then_render(app, client, f"/meetings/{following}/run?item={review}", "Fit window alarms", adult,
                     "Riverside IDVA, Idva")
    assert entries(app, "meeting.actions_review", adult) == before + 1
    auth.logout()

    auth.login("programme@example.org")
    post_form(client, f"/cases/{adult}/events/new", {"kind": "disclosure", "occurred_on": date.today().isoformat(),
                                                     "note": "Disclosed a new threat"})
    read_then_render(app, client, f"/cases/{adult}", adult, hidden=("1 Quiet Lane", "07700 900123",
                                                                    "SURVIVOR-ONLY-NOTE"))
    auth.logout()

    auth.login("idva@example.org")
    views = entries(app, "case.view", adult)
    read_then_render(app, client, f"/cases/{adult}", "Ada Adult", "1 Quiet Lane", "07700 900123",
                     "SURVIVOR-ONLY-NOTE", "Fit window alarms", "Change contact and location details")
    assert entries(app, "case.view", adult) == views + 1
    read_then_render(app, client, "/actions/mine", "Fit window alarms", adult)
    read_then_render(app, client, "/actions/agency", "Fit window alarms", adult)
    read_then_render(app, client, "/", "New disclosure", adult)  # the programme's event, as an alert


def test_a_repeat_referral_shows_the_earlier_one_from_the_recorded_transaction(app, client, auth, people, make):
    first = make.case(people["idva"], survivor=("Ana", "Silva", date(1991, 3, 4)),
                      perpetrator=("Rui", "Costa", date(1989, 1, 2)))
    second = make.case(people["idva"], survivor=("Ana", "Silva", date(1991, 3, 4)),
                       perpetrator=("Rui", "Costa", date(1989, 1, 2)))
    auth.login("idva@example.org")
    refer(client, first)
    # The referral form names the first case from its recorded transaction (its logging is tested in test_referrals).
    read_then_render(app, client, f"/cases/{second}/refer", first)
    refer(client, second)
    before = entries(app, "case.repeat_of", first)
    read_then_render(app, client, f"/cases/{second}", f"({first})", "repeat of the referral of")
    # Naming the earlier case is a view of that case, logged against it with this page's entries.
    assert entries(app, "case.repeat_of", first) == before + 1


def test_a_repeat_of_a_case_the_agency_is_not_involved_in_gives_its_date_on_record_not_its_name(
        app, client, auth, people, make):
    pair = {"survivor": ("Ana", "Silva", date(1991, 3, 4)), "perpetrator": ("Rui", "Costa", date(1989, 1, 2))}
    first = make.case(people["police"], **pair)
    second = make.case(people["idva"], **pair)
    auth.login("police@example.org")
    refer(client, first)
    auth.logout()
    auth.login("idva@example.org")
    refer(client, second)
    before = entries(app, "case.repeat_of", first)
    read_then_render(app, client, f"/cases/{second}", "repeat of the referral of",
                     "in another case your agency is not involved in", hidden=(first,))
    assert entries(app, "case.repeat_of", first) == before + 1  # its referral's date, logged against it
    assert entries(app, "case.view", first) == 0
