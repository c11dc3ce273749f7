"""Pages with several forms, and forms whose errors come back: one h1, no id twice, fields labelled,
the error summary first and linking to a field, "Error: " in the title, hints tied to their boxes."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from riskhub.extensions import db
from riskhub.models.cases import EmergencyAccess
from tests.conftest import post_form
from tests.test_admin import assert_accessible_basics
from tests.test_meetings import start_and_confirm, world


def assert_error_page(response: Any, first_field: str) -> str:
    """A re-shown form: 400, "Error: " title, summary before the h1, its first link to a field on the page."""
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page
    assert page.index('class="error-summary"') < page.index("<h1"), "the summary is not at the top"
    first = re.search(r'class="error-summary__list">\s*<li><a href="#([^"]+)"', page)
    assert first and first.group(1) == first_field, first and first.group(1)
    assert re.search(rf'<(input|select|textarea)[^>]*id="{re.escape(first_field)}"', page)
    return page


def test_the_case_page_and_the_agenda_view_meet_the_basics(app: Flask, client: FlaskClient, auth: Any,
                                                           people: dict[str, Any], make: Any) -> None:
    w = world(app, client, auth, people, make)
    item_id = start_and_confirm(app, client, w)
    run = client.get(f"/meetings/{w['meeting']}/run?item={item_id}").get_data(as_text=True)
    assert_accessible_basics(run)  # its minutes and action forms no longer share a csrf_token id
    title = re.search(r"<title>(.*?)</title>", run).group(1)
    h1 = re.search(r"<h1>(.*?)</h1>", run).group(1)
    assert title.startswith(h1 + ", agenda view of ")  # the title names the item on screen
    refused = post_form(client, f"/meetings/{w['meeting']}/run/{item_id}/actions",
                        {"description": "", "deadline": "", "owner_agency": "", "owner_user": ""},
                        page=f"/meetings/{w['meeting']}/run?item={item_id}")
    assert_error_page(refused, "description")  # the action form's errors, though it is not "form"
    auth.logout()
    auth.login("idva@example.org")
    assert_accessible_basics(client.get(f"/cases/{w['adult']}").get_data(as_text=True))


def test_re_shown_forms_put_the_summary_first(app: Flask, client: FlaskClient, auth: Any,
                                              people: dict[str, Any], make: Any) -> None:
    reference = make.case(people["idva"])
    auth.login("idva@example.org")
    sharing = post_form(client, f"/cases/{reference}/sharing/new", {"decision": ""})
    assert_error_page(sharing, "decision-0")  # a group of radios is linked by its first option
    auth.logout()
    auth.login("police@example.org")
    post_form(client, f"/cases/{reference}/emergency-access", {"reason": "Called to the address overnight"})
    auth.logout()
    auth.login("auditor@example.org")
    with app.app_context():
        grant_id = db.session.scalars(select(EmergencyAccess.id)).one()
    review = post_form(client, f"/audit/reviews/emergency/{grant_id}", {"outcome": "", "note": ""})
    assert_error_page(review, "outcome-0")
    search = client.get("/audit/search?date_from=not-a-date")
    assert_error_page(search, "date_from")


def test_hints_and_errors_are_tied_to_their_boxes(client: FlaskClient, auth: Any, people: dict[str, Any]) -> None:
    auth.login("admin@example.org")
    page = client.get(f"/admin/agencies/{people['programme_agency']}/edit").get_data(as_text=True)
    box = re.search(r'<input[^>]*id="active"[^>]*>', page).group(0)
    assert 'aria-describedby="active-hint"' in box and 'id="active-hint"' in page
    users = client.get("/admin/users/new").get_data(as_text=True)
    group = re.search(r'<fieldset[^>]*id="roles"[^>]*>', users).group(0)
    assert 'aria-describedby="roles-hint"' in group and 'id="roles-hint"' in users


def test_adding_a_case_no_longer_waiting_is_shown_beside_the_list(app: Flask, client: FlaskClient, auth: Any,
                                                                   people: dict[str, Any], make: Any) -> None:
    w = world(app, client, auth, people, make)  # every referral is on this agenda already
    gone = post_form(client, f"/meetings/{w['meeting']}/items", {"referral": "not-a-referral"},
                     page=f"/meetings/{w['meeting']}", follow_redirects=True)
    assert "No referred case is waiting for a meeting now" in gone.get_data(as_text=True)
    auth.logout()
    auth.login("idva@example.org")
    waiting = make.case(people["idva"], involve=(people["police_agency"],))
    assert post_form(client, f"/cases/{waiting}/refer", {"reasons": "professional_judgement", "consent": "given"},
                     hidden=("shown",)).status_code == 302
    auth.logout()
    auth.login("chair@example.org")
    refused = post_form(client, f"/meetings/{w['meeting']}/items", {"referral": "not-a-referral"},
                        page=f"/meetings/{w['meeting']}")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "<title>Error: Meeting " in page and 'href="#referral">That case is no longer waiting' in page
    assert page.index('class="error-summary"') < page.index("<h1")
    assert re.search(r'<select[^>]*id="referral"', page) and 'id="referral-error"' in page


def test_a_field_with_two_problems_names_both_in_one_message(client: FlaskClient, auth: Any,
                                                             people: dict[str, Any]) -> None:
    auth.login("admin@example.org")
    refused = post_form(client, "/admin/agencies/new", {"name": "\x00" + "<b>" + "a" * 200, "kind": "housing"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and page.count('id="name-error"') == 1
    beside = re.search(r'<p class="error-message" id="name-error">(.*?)</p>', page, re.S).group(1)
    assert "200 characters or fewer" in beside and "invisible control character" in beside and "<br>" in beside


def test_a_problem_with_no_field_of_its_own_is_listed_without_a_broken_link(app: Flask) -> None:
    from wtforms import StringField

    from riskhub.forms import Form

    class TwoDates(Form):
        start = StringField("Start")

    with app.test_request_context("/", method="POST", data={"start": "x"}):
        form = TwoDates(meta={"csrf": False})
        form.validate()
        form.form_errors.append("The end must come after the start")
        form.start.errors = ["Enter the start"]
        summary = app.jinja_env.from_string(
            '{% from "macros.html" import error_summary %}{{ error_summary(form) }}').render(form=form)
    assert "<li>The end must come after the start</li>" in summary
    assert '<a href="#start">Enter the start</a>' in summary and "#None" not in summary
