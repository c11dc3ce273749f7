"""The chair's side: schedule, build the agenda, run the meeting, minutes, actions, calendar."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from riskhub.extensions import db
from riskhub.models.assessments import Assessment
from riskhub.models.audit import AccessLogEntry
from riskhub.models.cases import Case
from riskhub.models.meetings import AgendaItem, ItemKind, Meeting, MinutesDistribution, SafetyAction
from riskhub.models.referrals import Referral
from tests.conftest import AuthActions, csrf_token, hidden_value, post_form
from tests.test_cases import survivor_answers

SOON = date.today() + timedelta(days=7)


def refer(client: Any, reference: str) -> None:
    response = post_form(client, f"/cases/{reference}/refer", {"reasons": "professional_judgement", "consent": "given"},
                         hidden=("shown",))
    assert response.status_code == 302


def schedule(client: Any, agency_ids: list[Any], **overrides: str) -> Any:
    data = {"date": SOON.isoformat(), "time": "09:30", "duration": "60", "venue": "Civic Centre, Room 4",
            "agencies": [str(a) for a in agency_ids], "repeat": "none", "occurrences": "1", "slot_minutes": "12"}
    return post_form(client, "/meetings/new", {**data, **overrides})


def world(app: Any, client: Any, auth: Any, people: dict[str, Any], make: Any,
          contact: dict[str, str] | None = None) -> dict[str, Any]:
    """Two referred cases (one with a child) and a scheduled meeting with its agenda proposed."""
    agencies = (people["programme_agency"], people["police_agency"])
    adult = make.case(people["idva"], survivor=("Ada", "Adult", None), involve=agencies, contact=contact)
    family = make.case(people["idva"], survivor=("Fay", "Family", None), involve=agencies)
    auth.login("idva@example.org")
    post_form(client, f"/cases/{family}/children/new", {"given_name": "Kit", "age": "6", "in_household": "y"})
    post_form(client, f"/cases/{adult}/assessments/new/survivor",
              {"assessed_on": date.today().isoformat(), **survivor_answers(15)})
    post_form(client, f"/cases/{adult}/notes", {"text": "SURVIVOR-ONLY-NOTE", "confidential": "y"},
              page=f"/cases/{adult}")
    refer(client, adult)
    refer(client, family)
    auth.logout()
    auth.login("chair@example.org")
    response = schedule(client, [people["idva_agency"], *agencies])
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = response.headers["Location"].rsplit("/", 1)[-1]
    post_form(client, f"/meetings/{meeting}/propose", {}, page=f"/meetings/{meeting}")
    return {"adult": adult, "family": family, "meeting": meeting}


def start_and_confirm(app: Any, client: Any, w: dict[str, Any]) -> Any:
    """The chair starts `world`'s meeting and confirms confidentiality: the adult case's agenda item id."""
    meeting = w["meeting"]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    post_form(client, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    with app.app_context():
        return db.session.scalar(select(AgendaItem.id).where(AgendaItem.case.has(Case.reference == w["adult"])))


def review_at_next_meeting(app: Any, client: Any, agency_ids: list[Any]) -> tuple[str, Any]:
    """The chair schedules a meeting two weeks after SOON, starts it and confirms confidentiality:
    its reference and its actions-review item."""
    later = schedule(client, agency_ids, date=(SOON + timedelta(days=14)).isoformat())
    meeting = later.headers["Location"].rsplit("/", 1)[-1]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    post_form(client, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    with app.app_context():
        review = db.session.scalar(select(AgendaItem.id).join(Meeting).where(
            Meeting.reference == meeting, AgendaItem.kind == "actions_review"))
    return meeting, review


def test_scheduling_refuses_bad_input_and_repeats_make_separate_meetings(app, client, auth, people):
    auth.login("chair@example.org")
    past = schedule(client, [people["idva_agency"]], date=(date.today() - timedelta(days=1)).isoformat())
    assert past.status_code == 400 and "must start in the future" in past.get_data(as_text=True)
    none = schedule(client, [], venue="")
    assert none.status_code == 400
    html = none.get_data(as_text=True)
    assert "Invite at least one agency" in html and 'href="#agencies-0"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    series = schedule(client, [people["idva_agency"]], repeat="monthly", occurrences="3")
    assert series.status_code == 302
    with app.app_context():
        starts = [m.starts_at.date() for m in db.session.scalars(select(Meeting).order_by(Meeting.starts_at))]
        assert len(starts) == 3 and len({m.series_id for m in db.session.scalars(select(Meeting))}) == 1
        assert all(s.day == SOON.day or s.day >= 28 for s in starts)


def test_meetings_and_series_too_far_ahead_are_refused_with_a_message(app, client, auth, people):
    """A mistyped year (9999) or a series running past the limit re-shows the form with the reason;
    nothing is stored and the meeting pages and calendar feed keep working."""
    auth.login("chair@example.org")
    agencies = [people["idva_agency"]]
    last_day = schedule(client, agencies, date="9999-12-31", time="23:00", duration="180")
    assert last_day.status_code == 400
    assert "The meeting cannot be more than 5 years ahead" in last_day.get_data(as_text=True)
    weekly_past_9999 = schedule(client, agencies, date="9999-12-01", repeat="weekly", occurrences="26")
    assert weekly_past_9999.status_code == 400
    assert "cannot be more than 5 years ahead" in weekly_past_9999.get_data(as_text=True)
    near_limit = (date.today() + timedelta(days=5 * 365 - 60)).isoformat()
    long_series = schedule(client, agencies, date=near_limit, repeat="monthly", occurrences="26")
    assert long_series.status_code == 400
    html = long_series.get_data(as_text=True)
    assert "The last meeting of this series would be more than 5 years ahead" in html and 'href="#occurrences"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    assert schedule(client, agencies, date=near_limit, repeat="monthly", occurrences="1").status_code == 302
    assert client.get("/meetings/").status_code == 200
    assert client.get("/").status_code == 200


def test_an_action_deadline_too_far_ahead_is_refused_with_a_message(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    meeting = w["meeting"]
    item_id = start_and_confirm(app, client, w)
    response = post_form(client, f"/meetings/{meeting}/run/{item_id}/actions", {
        "description": "Visit and review locks", "deadline": "9999-12-31",
        "owner_agency": str(people["police_agency"])}, page=f"/meetings/{meeting}/run?item={item_id}")
    assert response.status_code == 400
    assert "The deadline cannot be more than 5 years ahead" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SafetyAction)) == 0


def test_agenda_orders_children_first_and_refuses_a_case_twice(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    assert page.index("Review of outstanding actions") < page.index(w["family"]) < page.index(w["adult"])
    assert page.index(w["adult"]) < page.index("Any other business")
    assert "High / None" in page  # risk levels, and nothing from the survivor compartment
    assert "SURVIVOR-ONLY-NOTE" not in page
    with app.app_context():
        referral = db.session.scalars(select(Referral)).first()
    token = csrf_token(page)
    again = client.post(f"/meetings/{w['meeting']}/items", data={"csrf_token": token, "referral": str(referral.id)},
                        follow_redirects=True)
    assert "already on this agenda" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AgendaItem)) == 4


def test_the_agenda_and_the_agenda_view_mark_a_repeat_referral(app, client, auth, people, make):
    pair = {"survivor": ("Ana", "Silva", date(1991, 3, 4)), "perpetrator": ("Rui", "Costa", date(1989, 1, 2))}
    first = make.case(people["idva"], **pair)
    second = make.case(people["idva"], **pair)
    auth.login("idva@example.org")
    refer(client, first)
    refer(client, second)  # the same pair within twelve months: a repeat
    auth.logout()
    auth.login("chair@example.org")
    meeting = schedule(client, [people["idva_agency"]]).headers["Location"].rsplit("/", 1)[-1]
    post_form(client, f"/meetings/{meeting}/propose", {}, page=f"/meetings/{meeting}")
    agenda = client.get(f"/meetings/{meeting}").get_data(as_text=True)
    rows = {ref: next(r for r in agenda.split("<tr>") if f"Case {ref}" in r) for ref in (first, second)}
    assert "Repeat</span>" in rows[second] and "Repeat</span>" not in rows[first]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    post_form(client, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    with app.app_context():
        items = {ref: db.session.scalar(select(AgendaItem.id).where(AgendaItem.case.has(Case.reference == ref)))
                 for ref in (first, second)}
    assert "Repeat referral" in client.get(f"/meetings/{meeting}/run?item={items[second]}").get_data(as_text=True)
    assert "Repeat referral" not in client.get(f"/meetings/{meeting}/run?item={items[first]}").get_data(as_text=True)


def test_removing_a_case_from_the_agenda_twice_says_it_is_no_longer_there(app, client, auth, people, make):
    """The remove button sent twice takes the case off once; the second answer is the agenda again
    with a plain message, not an error page, and the case's referral is back in the queue once."""
    w = world(app, client, auth, people, make)
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    with app.app_context():
        item_id = db.session.scalar(select(AgendaItem.id).where(AgendaItem.case.has(Case.reference == w["adult"])))
    url, data = button_form(page, f"Remove {w['adult']}")
    assert f"/items/{item_id}/remove" in url
    first = client.post(url, data=data)
    assert first.status_code == 302
    again = client.post(url, data=data)
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/meetings/{w['meeting']}")
    shown = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This case is no longer on the agenda" in shown
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AgendaItem)) == 3
        referral = db.session.scalar(select(Referral).where(Referral.case.has(Case.reference == w["adult"])))
        assert referral.status.value == "waiting"
        removals = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "agenda.remove")).all()
        assert [e.case_ref for e in removals] == [w["adult"]]


def button_form(page: str, label: str) -> tuple[str, dict[str, str]]:
    """Where the page's button with this label posts to, and what its form sends (its hidden
    fields, the CSRF token among them)."""
    for form in re.findall(r"<form[^>]*>.*?</form>", page, re.S):
        if re.search(rf">\s*{re.escape(label)}\s*</button>", form):
            fields = {html.unescape(name): html.unescape(value) for name, value in
                      re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', form)}
            return html.unescape(re.search(r'action="([^"]*)"', form).group(1)), fields
    raise AssertionError(f"no button {label!r}")


def case_order(app: Any, meeting: str) -> list[str]:
    with app.app_context():
        items = db.session.scalars(select(AgendaItem).where(AgendaItem.meeting.has(Meeting.reference == meeting),
                                                            AgendaItem.kind == ItemKind.CASE)).all()
        return [i.case.reference for i in sorted(items, key=lambda i: (i.agenda_group, i.position))]


def test_moving_a_case_from_a_page_shown_before_another_chair_moved_it_does_nothing(app, client, auth, people,
                                                                                    make):
    """Two chairs with the same agenda open both press "down" on the first case: it moves once,
    and the second chair is told the agenda changed rather than moving it again."""
    w = world(app, client, auth, people, make)
    before = case_order(app, w["meeting"])
    first_case = before[0]
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    other_chair = app.test_client()
    AuthActions(other_chair).login("chair@example.org")
    other_page = other_chair.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    down, data = button_form(page, f"Move {first_case} down")
    assert client.post(down, data=data).status_code == 302
    moved = case_order(app, w["meeting"])
    assert moved == [before[1], before[0], *before[2:]]
    down, data = button_form(other_page, f"Move {first_case} down")
    stale = other_chair.post(down, data=data, follow_redirects=True)
    assert "changed since your page was shown" in html.unescape(stale.get_data(as_text=True))
    assert case_order(app, w["meeting"]) == moved
    with app.app_context():  # the actions review is not a case: refused by name, not a crash
        review = db.session.scalar(select(AgendaItem.id).where(
            AgendaItem.kind == ItemKind.ACTIONS_REVIEW, AgendaItem.meeting.has(Meeting.reference == w["meeting"])))
    for verb, message in (("move?direction=up", "Only cases can be moved"), ("remove", "stay on every agenda")):
        refused = client.post(f"/meetings/{w['meeting']}/items/{review}/{verb}", data={"csrf_token": csrf_token(page)},
                              follow_redirects=True)
        assert refused.status_code == 200 and message in html.unescape(refused.get_data(as_text=True))


def add_late_family_case(app, client, people, make, meeting: str, page: str) -> str:
    """Another case with a child is referred by the IDVA and added by the chair (from `page`, the
    agenda as the chair's page showed it): it goes at the end of the children's group."""
    late = make.case(people["idva"], survivor=("Lia", "Late", None), involve=(people["police_agency"],))
    idva = app.test_client()
    AuthActions(idva).login("idva@example.org")
    post_form(idva, f"/cases/{late}/children/new", {"given_name": "Bo", "age": "3", "in_household": "y"})
    refer(idva, late)
    with app.app_context():
        referral = db.session.scalar(select(Referral.id).where(Referral.case.has(Case.reference == late)))
    added = client.post(f"/meetings/{meeting}/items", data={"csrf_token": csrf_token(page), "referral": str(referral)})
    assert added.status_code == 302
    return late


def test_moving_a_case_past_one_added_since_the_page_was_shown_does_nothing(app, client, auth, people, make):
    """The chair's page shows the adult case below the family one. Meanwhile a case with children
    is added between them: "Move up" from that page would pass a case the chair never saw there,
    so nothing is done and the page says so; from a fresh page, it moves."""
    w = world(app, client, auth, people, make)
    shown = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    late = add_late_family_case(app, client, people, make, w["meeting"], shown)
    assert case_order(app, w["meeting"]) == [w["family"], late, w["adult"]]
    up, data = button_form(shown, f"Move {w['adult']} up")
    stale = client.post(up, data=data, follow_redirects=True)
    assert f"The agenda changed beside {w['adult']} since your page was shown" in html.unescape(
        stale.get_data(as_text=True))
    assert case_order(app, w["meeting"]) == [w["family"], late, w["adult"]]
    fresh = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    up, data = button_form(fresh, f"Move {w['adult']} up")
    moved = client.post(up, data=data, follow_redirects=True)
    assert "since your page was shown" not in html.unescape(moved.get_data(as_text=True))
    assert case_order(app, w["meeting"]) == [w["family"], w["adult"], late]


@pytest.mark.parametrize("recorded", ["minutes", "informs_survivor"])
def test_a_case_with_minutes_stays_on_the_agenda(app, client, auth, people, make, recorded):
    """Minutes saved on a case after the agenda page was shown: its Remove button does nothing and
    says so; pressed again from a fresh page, it is refused while the minutes exist."""
    w = world(app, client, auth, people, make)
    agenda = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    item_id = start_and_confirm(app, client, w)
    run = f"/meetings/{w['meeting']}/run?item={item_id}"
    saved = {"minutes": "", "decisions": "", "informs_survivor": "", recorded: "Long discussion of the new threat"}
    assert post_form(client, f"/meetings/{w['meeting']}/run/{item_id}/minutes", saved,
                     page=run, hidden=("version",)).status_code == 302
    with app.app_context():
        reference = db.session.get(AgendaItem, item_id).case.reference
    remove, data = button_form(agenda, f"Remove {reference}")
    stale = client.post(remove, data=data, follow_redirects=True)
    assert "changed since your page was shown" in html.unescape(stale.get_data(as_text=True))
    fresh = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    remove, data = button_form(fresh, f"Remove {reference}")
    refused = client.post(remove, data=data, follow_redirects=True)
    assert "Minutes or actions have been recorded" in html.unescape(refused.get_data(as_text=True))
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        assert item is not None and getattr(item, recorded) == "Long discussion of the new threat"


def test_minutes_typed_while_a_case_is_added_above_are_saved(app, client, auth, people, make):
    """During the meeting a case with children is added, which goes above the adult case being
    minuted: the minutes form shown before that still saves, since only the entry's place in
    the agenda moved, not anything written on it."""
    w = world(app, client, auth, people, make)
    item_id = start_and_confirm(app, client, w)
    run = f"/meetings/{w['meeting']}/run?item={item_id}"
    form_page = client.get(run).get_data(as_text=True)
    agenda = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    with app.app_context():
        before = db.session.get(AgendaItem, item_id).position
    late = add_late_family_case(app, client, people, make, w["meeting"], agenda)
    assert case_order(app, w["meeting"]) == [w["family"], late, w["adult"]]
    saved = client.post(f"/meetings/{w['meeting']}/run/{item_id}/minutes", data={
        "csrf_token": csrf_token(form_page), "version": hidden_value(form_page, "version"),
        "minutes": "Agreed to share the bail conditions", "decisions": "", "informs_survivor": "IDVA"})
    assert saved.status_code == 302, html.unescape(saved.get_data(as_text=True))
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        assert item.position == before + 1 and item.minutes == "Agreed to share the bail conditions"


def test_a_programme_chair_cannot_learn_of_survivor_only_minutes_from_a_refusal(app, client, auth, people, make):
    """Survivor-side minutes are saved on one case and nothing on the other. A chair from the
    perpetrator programme sees no Remove buttons, and a removal sent anyway is refused for both
    cases in the same words, which name who they are, not what is recorded; both stay on."""
    w = world(app, client, auth, people, make)
    item_id = start_and_confirm(app, client, w)
    run = f"/meetings/{w['meeting']}/run?item={item_id}"
    assert post_form(client, f"/meetings/{w['meeting']}/run/{item_id}/minutes",
                     {"minutes": "", "decisions": "", "informs_survivor": "", "survivor_minutes": "She is moving"},
                     page=run, hidden=("version", "survivor_version")).status_code == 302
    with app.app_context():
        other_id = db.session.scalar(select(AgendaItem.id).where(AgendaItem.case.has(Case.reference == w["family"])))
    auth.logout()
    make.user("programme-chair@example.org", people["programme_agency"], ("chair", "practitioner"))
    auth.login("programme-chair@example.org")
    agenda = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    assert f"Move {w['adult']} up" in agenda and "Remove " not in agenda
    assert "taken off an agenda by a chair from an agency that is not a perpetrator programme" in agenda
    answers = []
    for item in (item_id, other_id):
        refused = client.post(f"/meetings/{w['meeting']}/items/{item}/remove", data={"csrf_token": csrf_token(agenda)},
                              follow_redirects=True)
        assert refused.status_code == 200
        text = html.unescape(refused.get_data(as_text=True))
        assert "ask one of them to do it" in text and "Minutes or actions" not in text
        answers.append(re.search(r'<div class="notification[^"]*".*?</div>', text, re.S).group(0))
    assert answers[0] == answers[1]
    with app.app_context():
        assert db.session.get(AgendaItem, item_id) is not None and db.session.get(AgendaItem, other_id) is not None
        denied = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "agenda.denied")).all()
        assert len(denied) == 2 and all(e.outcome == "denied" for e in denied)


def test_saving_survivor_side_minutes_changes_nothing_a_programme_chair_can_see(app, client, auth, people, make):
    """The survivor-side part has a version of its own: saving only it leaves the entry's version,
    which a programme chair's minutes form and agenda buttons carry, as it was, so their save
    from the page shown before goes through and keeps her part. Two survivor-side copies of that
    part still never overwrite each other."""
    w = world(app, client, auth, people, make)
    item_id = start_and_confirm(app, client, w)
    meeting = w["meeting"]
    run = f"/meetings/{meeting}/run?item={item_id}"
    make.user("programme-chair@example.org", people["programme_agency"], ("chair", "practitioner"))
    programme = app.test_client()
    AuthActions(programme).login("programme-chair@example.org")
    post_form(programme, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    shown_run = programme.get(run).get_data(as_text=True)
    shown_agenda = programme.get(f"/meetings/{meeting}").get_data(as_text=True)
    assert 'name="survivor_version"' not in shown_run
    before = client.get(run).get_data(as_text=True)  # the survivor side's copy, kept to send later
    saved = post_form(client, f"/meetings/{meeting}/run/{item_id}/minutes",
                      {"minutes": "", "decisions": "", "informs_survivor": "", "survivor_minutes": "She is moving"},
                      page=run, hidden=("version", "survivor_version"))
    assert saved.status_code == 302
    assert hidden_value(programme.get(run).get_data(as_text=True), "version") == hidden_value(shown_run, "version")
    now_agenda = programme.get(f"/meetings/{meeting}").get_data(as_text=True)
    (now, sends), (then, sent) = (button_form(page, f"Move {w['adult']} up") for page in (now_agenda, shown_agenda))
    assert (now, sends["shown"], sends["past"]) == (then, sent["shown"], sent["past"])
    theirs = programme.post(f"/meetings/{meeting}/run/{item_id}/minutes", data={
        "csrf_token": csrf_token(shown_run), "version": hidden_value(shown_run, "version"),
        "minutes": "Programme's summary", "decisions": "", "informs_survivor": ""})
    assert theirs.status_code == 302
    stale = client.post(f"/meetings/{meeting}/run/{item_id}/minutes", data={
        "csrf_token": csrf_token(before), "version": hidden_value(client.get(run).get_data(as_text=True), "version"),
        "survivor_version": hidden_value(before, "survivor_version"), "minutes": "Programme's summary",
        "decisions": "", "informs_survivor": "", "survivor_minutes": "An older copy of her part"})
    assert stale.status_code == 409 and "An older copy of her part" in stale.get_data(as_text=True)
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        assert item.minutes == "Programme's summary" and item.survivor_minutes == "She is moving"


def test_agenda_shows_the_corrected_level_not_the_one_replaced(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    assert "High / None" in client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    auth.logout()
    auth.login("idva@example.org")
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == w["adult"]))
        first = db.session.scalar(select(Assessment).where(Assessment.case_id == case.id))
        first_id = first.id
        case.created_at -= timedelta(days=7)  # opened last week, so the correction may be dated earlier
        db.session.commit()
    response = post_form(client, f"/cases/{w['adult']}/assessments/new/survivor?supersedes={first_id}",
                         # dated earlier than the original, so only the correction link keeps it current
                         {"assessed_on": (date.today() - timedelta(days=2)).isoformat(), **survivor_answers(3)})
    assert response.status_code == 302
    auth.logout()
    auth.login("chair@example.org")
    page = client.get(f"/meetings/{w['meeting']}").get_data(as_text=True)
    row = page[page.index(w["adult"]):]
    assert row.index("Standard / None") < row.index("</tr>") and "High / None" not in page


def test_no_case_content_before_confidentiality_then_run_the_meeting(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    meeting = w["meeting"]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    gate = client.get(f"/meetings/{meeting}/run").get_data(as_text=True)
    assert "Confidentiality statement" in gate and w["family"] not in gate.split("<h1>")[1]
    post_form(client, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    run = client.get(f"/meetings/{meeting}/run").get_data(as_text=True)
    assert f"Case {w['family']}" in run and "Kit (6)" in run

    with app.app_context():
        item = db.session.scalar(select(AgendaItem).where(AgendaItem.case.has(Case.reference == w["adult"])))
        item_id, version = item.id, item.version
    url = f"/meetings/{meeting}/run?item={item_id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    save = f"/meetings/{meeting}/run/{item_id}/minutes"
    base = {"csrf_token": token, "version": str(version), "survivor_version": "1", "decisions": "Refer to housing",
            "informs_survivor": "IDVA"}
    first = client.post(save, data={**base, "minutes": "First draft", "survivor_minutes": "She is moving"})
    assert first.status_code == 302
    stale = client.post(save, data={**base, "minutes": "Second person's text"})
    assert stale.status_code == 409
    assert "Second person&#39;s text" in stale.get_data(as_text=True)
    autosave = client.post(save, data={**base, "version": str(version + 1), "survivor_version": "2",
                                       "minutes": "Autosaved", "survivor_minutes": "She is moving on Friday"},
                           headers={"Accept": "application/json"})
    assert autosave.status_code == 200
    assert autosave.get_json() == {"saved": True, "version": version + 2, "survivor_version": 3}

    action = f"/meetings/{meeting}/run/{item_id}/actions"
    early = client.post(action, data={"csrf_token": token, "description": "Safety plan", "deadline": "2001-01-01",
                                      "owner_agency": str(people["police_agency"]), "owner_user": ""})
    assert early.status_code == 400 and "cannot be before the meeting" in early.get_data(as_text=True)
    housing = make.agency("Housing Trust", "housing")
    outsider = client.post(action, data={"csrf_token": token, "description": "Safety plan",
                                         "deadline": (SOON + timedelta(days=14)).isoformat(),
                                         "owner_agency": str(housing), "owner_user": ""})
    assert outsider.status_code == 400  # Housing Trust is not involved in this case
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SafetyAction)) == 0
    good = client.post(action, data={"csrf_token": token, "description": "Fit window alarms",
                                     "deadline": (SOON + timedelta(days=14)).isoformat(),
                                     "owner_agency": str(people["police_agency"]), "owner_user": str(people["police"])})
    assert good.status_code == 302
    post_form(client, f"/meetings/{meeting}/run/{item_id}/heard", {}, page=url)
    closed = post_form(client, f"/meetings/{meeting}/run/close", {}, page=url)
    assert closed.status_code == 302
    with app.app_context():
        heard = db.session.scalar(select(Case).where(Case.reference == w["adult"]))
        assert heard.status.value == "heard"
        family = db.session.scalar(select(Referral).join(Case).where(Case.reference == w["family"]))
        assert family.status.value == "waiting"  # not heard: back in the queue
    refused = client.post(save, data={**base, "version": str(version + 2), "minutes": "Too late"},
                          follow_redirects=True)
    assert "closed and can no longer be changed" in refused.get_data(as_text=True)
    # The page's autosave, still running on a chair's screen, hears why in words it can show.
    autosaved = client.post(save, data={**base, "version": str(version + 2), "minutes": "Typed on"},
                            headers={"Accept": "application/json"})
    assert autosaved.status_code == 400 and autosaved.get_json()["refused"] is True
    assert "closed and can no longer be changed" in autosaved.get_json()["message"]


def test_minutes_copies_obey_the_firewall_and_are_recorded(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    meeting = w["meeting"]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    post_form(client, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    with app.app_context():
        item = db.session.scalar(select(AgendaItem).where(AgendaItem.case.has(Case.reference == w["adult"])))
        item_id, version = item.id, item.version
    url = f"/meetings/{meeting}/run?item={item_id}"
    post_form(client, f"/meetings/{meeting}/run/{item_id}/minutes",
              {"version": str(version), "minutes": "Shared summary", "survivor_minutes": "SURVIVOR-ONLY-MINUTE"},
              page=url, hidden=("survivor_version",))
    post_form(client, f"/meetings/{meeting}/run/close", {}, page=url)
    chair_copy = client.get(f"/meetings/{meeting}/minutes").get_data(as_text=True)
    assert "Shared summary" in chair_copy and "SURVIVOR-ONLY-MINUTE" in chair_copy
    auth.logout()
    auth.login("programme@example.org")
    copy = client.get(f"/meetings/{meeting}/minutes").get_data(as_text=True)
    assert "Shared summary" in copy and "SURVIVOR-ONLY-MINUTE" not in copy
    pdf = client.get(f"/meetings/{meeting}/minutes.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with app.app_context():
        copies = db.session.scalars(select(MinutesDistribution)).all()
        assert sorted(c.format for c in copies) == ["html", "html", "pdf"]
        logged = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "minutes.pdf")).all()
        assert logged and all("survivor_minutes" not in e.sections for e in logged)


def test_actions_carry_forward_and_owners_update_them(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    meeting = w["meeting"]
    item_id = start_and_confirm(app, client, w)
    url = f"/meetings/{meeting}/run?item={item_id}"
    post_form(client, f"/meetings/{meeting}/run/{item_id}/actions", {
        "description": "Visit and review locks", "deadline": SOON.isoformat(),
        "owner_agency": str(people["police_agency"]), "owner_user": str(people["police"])}, page=url)
    post_form(client, f"/meetings/{meeting}/run/close", {}, page=url)
    next_meeting, review = review_at_next_meeting(app, client, [people["police_agency"]])
    page = client.get(f"/meetings/{next_meeting}/run?item={review}").get_data(as_text=True)
    assert "Visit and review locks" in page and w["adult"] in page
    auth.logout()

    auth.login("police@example.org")
    mine = client.get("/actions/mine").get_data(as_text=True)
    assert "Visit and review locks" in mine
    assert "1 open" in client.get("/").get_data(as_text=True)
    case_page = client.get(f"/cases/{w['adult']}").get_data(as_text=True)
    assert "Visit and review locks" in case_page and "Police" in case_page
    with app.app_context():
        action = db.session.scalars(select(SafetyAction)).one()
        action_id, version = action.id, action.version
    # The owner is told, beside the note field, who will read what they write there.
    update_page = client.get(f"/actions/{action_id}").get_data(as_text=True)
    assert "perpetrator programmes included: never write where she is" in update_page
    missing = post_form(client, f"/actions/{action_id}", {"status": "not_done", "note": "", "version": str(version)})
    assert missing.status_code == 400 and "Say why the action was not done" in missing.get_data(as_text=True)
    done = post_form(client, f"/actions/{action_id}", {"status": "not_done", "reason": "agency_did_not_act",
                                                       "note": "No officer available", "version": str(version)})
    assert done.status_code == 302
    auth.logout()
    auth.login("chair@example.org")
    report = client.get("/actions/not-done").get_data(as_text=True)
    assert "Visit and review locks" in report and "agency did not act" in report
    auth.logout()
    auth.login("idva@example.org")
    assert client.get(f"/actions/{action_id}").status_code == 403


def test_a_survivor_side_only_action_never_reaches_the_perpetrator_facing_side(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    meeting = w["meeting"]
    item_id = start_and_confirm(app, client, w)
    url, add = f"/meetings/{meeting}/run?item={item_id}", f"/meetings/{meeting}/run/{item_id}/actions"
    secret = {"description": "REFUGE-PLACE-7731 in Northtown", "deadline": SOON.isoformat(), "owner_user": "",
              "survivor_only": "y"}
    refused = post_form(client, add, {**secret, "owner_agency": str(people["programme_agency"])}, page=url)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'href="#owner_agency"' in html
    assert "A survivor-side only action must be owned by a survivor-side agency" in html
    assert "REFUGE-PLACE-7731 in Northtown" in html  # what the chair typed is kept
    assert post_form(client, add, {**secret, "owner_agency": str(people["idva_agency"])}, page=url).status_code == 302
    assert post_form(client, add, {"description": "Shared action 7731", "deadline": SOON.isoformat(), "owner_user": "",
                                   "owner_agency": str(people["police_agency"])}, page=url).status_code == 302
    post_form(client, f"/meetings/{meeting}/run/close", {}, page=url)
    with app.app_context():
        secret_id = db.session.scalars(select(SafetyAction.id).where(SafetyAction.survivor_only.is_(True))).one()
    auth.logout()

    auth.login("idva@example.org")
    case_page = client.get(f"/cases/{w['adult']}").get_data(as_text=True)
    assert "REFUGE-PLACE-7731" in case_page and "Survivor-side only" in case_page
    assert "REFUGE-PLACE-7731" in client.get("/actions/agency").get_data(as_text=True)
    auth.logout()

    auth.login("programme@example.org")
    case_page = client.get(f"/cases/{w['adult']}").get_data(as_text=True)
    assert "Shared action 7731" in case_page and "REFUGE-PLACE-7731" not in case_page
    minutes = client.get(f"/meetings/{meeting}/minutes").get_data(as_text=True)
    assert "Shared action 7731" in minutes and "REFUGE-PLACE-7731" not in minutes
    assert client.get(f"/actions/{secret_id}").status_code == 404
    unknown_id = uuid.uuid4()
    assert client.get(f"/actions/{unknown_id}").status_code == 404
    auth.logout()
    with app.app_context():
        views = db.session.scalars(select(AccessLogEntry).where(
            AccessLogEntry.action == "case.view", AccessLogEntry.case_ref == w["adult"])).all()
        by_user = {e.user_id: e.sections.split(",") for e in views}
        assert "survivor_actions" in by_user[people["idva"]] and "survivor_actions" not in by_user[people["programme"]]
        denied = db.session.scalars(select(AccessLogEntry).where(
            AccessLogEntry.action == "action.view", AccessLogEntry.outcome == "denied")
            .order_by(AccessLogEntry.seq)).all()
        # The survivor-side only action is refused as an address matching nothing is, in the log too:
        # the programme's own auditor does not learn which case holds one.
        assert [(e.user_id, e.object_type, e.object_id, e.case_ref) for e in denied] == [
            (people["programme"], "safety_action", str(secret_id), None),
            (people["programme"], "safety_action", str(unknown_id), None)]

    # A perpetrator-facing chair reviews the open actions without it; the police chair sees both.
    make.user("programme-chair@example.org", people["programme_agency"], ("chair", "practitioner"))
    auth.login("programme-chair@example.org")
    later, review = review_at_next_meeting(app, client, [people["programme_agency"], people["idva_agency"]])
    page = client.get(f"/meetings/{later}/run?item={review}").get_data(as_text=True)
    assert "1 open action from earlier meetings" in page
    assert "Shared action 7731" in page and "REFUGE-PLACE-7731" not in page
    auth.logout()
    auth.login("chair@example.org")
    post_form(client, f"/meetings/{later}/confidentiality?next=run", {}, page=f"/meetings/{later}")
    page = client.get(f"/meetings/{later}/run?item={review}").get_data(as_text=True)
    assert "2 open actions from earlier meetings" in page and "REFUGE-PLACE-7731" in page


def agree_actions(app: Any, client: Any, people: dict[str, Any], w: dict[str, Any], count: int, label: str,
                  then: Any = None) -> None:
    """The chair starts the world's meeting and agrees `count` actions for the police, a day apart
    from SOON: the first 25 on the adult's case, the rest on the family's (so last by deadline)."""
    from riskhub.models.accounts import User
    from riskhub.operations import actions as action_ops

    meeting = w["meeting"]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    with app.app_context():
        chair = db.session.get(User, people["chair"])
        items = {i.case.reference: i
                 for i in db.session.scalars(select(AgendaItem).where(AgendaItem.case_id.is_not(None)))}
        for n in range(count):
            reference = w["adult"] if n < 25 else w["family"]
            action = action_ops.agree_action(items[reference], action_ops.ActionPlan(
                description=f"{label} {n:02d}", owner_agency_id=people["police_agency"], owner_user_id=None,
                deadline=SOON + timedelta(days=n)), by=chair)
            if then is not None:
                then(n, action, chair)
        db.session.commit()


def test_the_review_of_open_actions_comes_25_at_a_time_and_logs_the_cases_it_shows(app, client, auth, people, make):
    """An area's meetings carry thousands of open actions: the review shows them soonest deadline
    first, 25 to a page, and records each case on the page shown."""
    w = world(app, client, auth, people, make)
    meeting = w["meeting"]
    agree_actions(app, client, people, w, 26, "Review action")
    post_form(client, f"/meetings/{meeting}/run/close", {}, page=f"/meetings/{meeting}")
    following, review = review_at_next_meeting(app, client, [people["police_agency"]])

    first = client.get(f"/meetings/{following}/run?item={review}").get_data(as_text=True)
    assert "26 open actions from earlier meetings. Actions 1 to 25, soonest deadline first." in first
    assert "Review action 00" in first and "Review action 24" in first and "Review action 25" not in first
    assert first.count("<tr><td>") == 25
    after_first = db_entries(app, "meeting.actions_review")
    assert after_first == [w["adult"]]
    following_page = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert following_page == f"/meetings/{following}/run?page=2&item={review}"
    second = client.get(following_page).get_data(as_text=True)
    assert "Actions 26 to 26" in second and "Review action 25" in second and "Review action 24" not in second
    assert 'rel="prev"' in second and "Page 2 of 2" in second
    assert db_entries(app, "meeting.actions_review") == [w["adult"], w["family"]]


def test_the_review_shows_only_actions_from_meetings_the_agency_was_invited_to(app, client, auth, people, make):
    """An agency hears the actions agreed at meetings it was invited to; a later meeting's review
    does not show it the others, nor log them against it. Chairs, who see every meeting, review all."""
    w = world(app, client, auth, people, make)  # invites the IDVA, the programme and the police
    meeting = w["meeting"]
    post_form(client, f"/meetings/{meeting}/start", {}, page=f"/meetings/{meeting}")
    post_form(client, f"/meetings/{meeting}/confidentiality?next=run", {}, page=f"/meetings/{meeting}")
    with app.app_context():
        item = db.session.scalar(select(AgendaItem.id).join(Meeting).where(
            Meeting.reference == meeting, AgendaItem.case_id.is_not(None)))
    post_form(client, f"/meetings/{meeting}/run/{item}/actions", {
        "description": "Install a door camera", "deadline": SOON.isoformat(),
        "owner_agency": str(people["police_agency"]), "owner_user": ""}, page=f"/meetings/{meeting}/run?item={item}")
    post_form(client, f"/meetings/{meeting}/run/close", {}, page=f"/meetings/{meeting}")
    housing = make.agency("Town Housing", "housing")
    make.user("housing@example.org", housing)
    following, review = review_at_next_meeting(app, client, [people["police_agency"], housing])
    chair_sees = client.get(f"/meetings/{following}/run?item={review}").get_data(as_text=True)
    assert "1 open action from earlier meetings." in chair_sees
    assert "Install a door camera" in chair_sees
    auth.logout()

    # Chairs see every meeting, invited or not: a chair at the housing agency reviews it too.
    make.user("housing-chair@example.org", housing, ("chair", "practitioner"))
    auth.login("housing-chair@example.org")
    post_form(client, f"/meetings/{following}/confidentiality?next=run", {}, page=f"/meetings/{following}")
    housing_chair_sees = client.get(f"/meetings/{following}/run?item={review}").get_data(as_text=True)
    assert "1 open action from earlier meetings." in housing_chair_sees
    assert "Install a door camera" in housing_chair_sees
    auth.logout()

    auth.login("housing@example.org")
    post_form(client, f"/meetings/{following}/confidentiality?next=run", {}, page=f"/meetings/{following}")
    before = db_entries(app, "meeting.actions_review")
    housing_sees = client.get(f"/meetings/{following}/run?item={review}")
    page = housing_sees.get_data(as_text=True)
    assert housing_sees.status_code == 200
    assert "0 open actions from earlier meetings your agency was invited to" in page
    assert "Install a door camera" not in page and w["adult"] not in page and w["family"] not in page
    assert db_entries(app, "meeting.actions_review") == before


def test_the_not_done_report_comes_25_at_a_time_and_logs_the_cases_it_shows(app, client, auth, people, make):
    """Actions the owning agency did not act on, for the steering group: soonest deadline first,
    25 to a page under a count, each case on the page shown recorded; other reasons left out."""
    from riskhub.models.meetings import ActionStatus, NotDoneReason
    from riskhub.operations import actions as action_ops

    w = world(app, client, auth, people, make)

    def not_done(n: int, action: Any, chair: Any) -> None:  # the 27th was not done for another reason
        reason = NotDoneReason.AGENCY_DID_NOT_ACT if n < 26 else NotDoneReason.CIRCUMSTANCES_CHANGED
        action_ops.update_action(action, status=ActionStatus.NOT_DONE, note="Not done", reason=reason,
                                 version=action.version, by=chair)

    agree_actions(app, client, people, w, 27, "Escalate action", then=not_done)

    first = client.get("/actions/not-done").get_data(as_text=True)
    assert ("26 actions not done because the agency did not act. "
            "Actions 1 to 25, soonest deadline first.") in first
    assert "Escalate action 00" in first and "Escalate action 24" in first and "Escalate action 25" not in first
    assert "Escalate action 26" not in first
    assert db_entries(app, "actions.report") == [w["adult"]]
    second = client.get("/actions/not-done?page=2").get_data(as_text=True)
    assert "Actions 26 to 26" in second and "Escalate action 25" in second and "Escalate action 24" not in second
    assert "Escalate action 26" not in second and 'rel="prev"' in second
    assert db_entries(app, "actions.report") == [w["adult"], w["family"]]


def db_entries(app: Any, action: str) -> list[str]:
    """Case references of the access-log entries with this action, in order."""
    with app.app_context():
        return list(db.session.scalars(select(AccessLogEntry.case_ref).where(AccessLogEntry.action == action)
                                       .order_by(AccessLogEntry.seq)))


def test_calendar_files_carry_no_case_details_and_feeds_can_be_revoked(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    ics = client.get(f"/meetings/{w['meeting']}/calendar.ics")
    body = ics.get_data(as_text=True)
    assert ics.mimetype == "text/calendar" and "BEGIN:VEVENT" in body and w["meeting"] in body
    for secret in (w["adult"], w["family"], "Ada", "Fay", "Kit"):
        assert secret not in body
    page = post_form(client, "/calendar/feed", {}, page="/calendar").get_data(as_text=True)
    feed_url = re.search(r'value="(http[^"]+\.ics)"', page).group(1)
    path = feed_url.split("localhost", 1)[1]
    auth.logout()
    anonymous = client.get(path)
    assert anonymous.status_code == 200 and w["meeting"] in anonymous.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "calendar.feed.fetch")).one()
    auth.login("chair@example.org")
    post_form(client, "/calendar/feed/revoke", {}, page="/calendar")
    auth.logout()
    assert client.get(path).status_code == 404


def test_invited_agency_sees_agenda_but_others_do_not(app, client, auth, people, make):
    w = world(app, client, auth, people, make)
    auth.logout()
    auth.login("programme@example.org")
    agenda = client.get(f"/meetings/{w['meeting']}")
    assert agenda.status_code == 200
    invited = re.search(r"<dt>Agencies invited</dt><dd>([^<]*)</dd>", agenda.get_data(as_text=True)).group(1)
    assert invited == "Change Programme, County Police, Riverside IDVA"
    other = make.agency("Housing Trust", "housing")
    make.user("housing@example.org", other)
    auth.logout()
    auth.login("housing@example.org")
    assert client.get(f"/meetings/{w['meeting']}").status_code == 403


def test_action_lists_come_a_page_at_a_time_overdue_first(app, client, auth, people, make, monkeypatch):
    """Owners with many open actions see how many there are and how many are overdue, then a page of them."""
    from riskhub.models.accounts import User
    from riskhub.operations import actions as action_ops

    monkeypatch.setattr(action_ops, "ACTIONS_PER_PAGE", 2)
    w = world(app, client, auth, people, make)
    post_form(client, f"/meetings/{w['meeting']}/start", {}, page=f"/meetings/{w['meeting']}")
    with app.app_context():
        item = db.session.scalars(select(AgendaItem).where(AgendaItem.case.has(Case.reference == w["adult"]))).one()
        chair = db.session.get(User, people["chair"])
        for n in range(5):
            action_ops.agree_action(item, action_ops.ActionPlan(
                description=f"Paged action {n}", owner_agency_id=people["police_agency"],
                owner_user_id=people["police"], deadline=SOON + timedelta(days=n)), by=chair)
        db.session.commit()
        last = db.session.scalars(select(SafetyAction).where(SafetyAction.deadline == SOON + timedelta(days=4))).one()
        last.deadline = date.today() - timedelta(days=3)  # its deadline has passed since the meeting
        db.session.commit()
    auth.logout()
    auth.login("police@example.org")

    first = client.get("/actions/mine").get_data(as_text=True)
    assert "5 open actions" in first and "1 overdue" in first and "Actions 1 to 2" in first
    assert "Page 1 of 3" in first and 'href="/actions/mine?page=2"' in first and "Previous page" not in first
    assert first.index("Paged action 4") < first.index("Paged action 0")  # overdue first
    row = re.search(r"<tr>(?:(?!</tr>).)*Paged action 4(?:(?!</tr>).)*</tr>", first, re.S).group(0)
    assert w["adult"] in row and "County Police, Police" in row and "Overdue" in row and ">open<" in row
    assert "Paged action 1" not in first
    last_page = client.get("/actions/mine?page=3").get_data(as_text=True)
    assert "Actions 5 to 5" in last_page and "Paged action 3" in last_page and "Paged action 0" not in last_page
    assert "Next page" not in last_page
    for odd in ("0", "-1", "abc", "99999999999999999999", "²"):
        assert client.get(f"/actions/mine?page={odd}").status_code == 200
    agency = client.get("/actions/agency?page=2").get_data(as_text=True)
    assert "5 open actions" in agency and "Paged action 1" in agency and "Paged action 2" in agency
    dashboard = client.get("/").get_data(as_text=True)
    assert "5 open" in dashboard and "1 overdue" in dashboard
    with app.app_context():
        listed = db.session.scalars(select(AccessLogEntry).where(
            AccessLogEntry.action == "actions.list", AccessLogEntry.user_id == people["police"])).all()
        assert listed and all(e.case_ref == w["adult"] and "actions" in e.sections for e in listed)
