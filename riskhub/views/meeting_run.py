"""The chair's agenda view: one case at a time, minutes saved as you go, actions, close."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import lazyload, load_only
from werkzeug.wrappers import Response

from riskhub import access, policy
from riskhub.assessments import LEVEL_LABELS
from riskhub.extensions import db
from riskhub.forms import ConfirmForm, show_operation_error
from riskhub.forms.meetings import ActionForm, MinutesForm
from riskhub.forms.submissions import show_already_submitted
from riskhub.lifecycle import commit_then_render
from riskhub.models.accounts import User
from riskhub.models.cases import PersonRole
from riskhub.models.meetings import AgendaItem, ItemKind, Meeting
from riskhub.operations import ConflictError, OperationError, attempt, submissions
from riskhub.operations import actions as action_ops
from riskhub.operations import assessments as assessment_ops
from riskhub.operations import events as event_ops
from riskhub.operations import meeting_run as run_ops
from riskhub.operations import meetings as meeting_ops
from riskhub.views import requested_page, whole_number
from riskhub.views.meetings import chair_only, load_meeting

bp = Blueprint("meeting_run", __name__, url_prefix="/meetings/<reference>/run")

Page = str | Response | tuple[str, int] | tuple[Response, int]

MEETING_SECTIONS = (policy.SECTION_SUMMARY, policy.SECTION_ASSESSMENTS, policy.SECTION_PEOPLE,
                    policy.SECTION_EVENTS, policy.SECTION_ACTIONS, policy.SECTION_SURVIVOR_ACTIONS,
                    policy.SECTION_MINUTES, policy.SECTION_SURVIVOR_MINUTES)


@bp.before_request
def _meeting_users_only() -> None:
    access.require(lambda v: policy.may_work_cases(v) or policy.may_schedule_meetings(v), "meetings.denied")


def _current_item(meeting: Meeting) -> AgendaItem:
    wanted = request.args.get("item")
    if wanted:
        try:
            found = next((i for i in meeting.items if i.id == uuid.UUID(wanted)), None)
        except ValueError:
            found = None
        if found is None:
            abort(404)
        return found
    unheard = [i for i in meeting.items if i.kind == ItemKind.CASE and i.heard_at is None]
    return unheard[0] if unheard else meeting.items[0]


@cache
def _active_staff_of() -> Select[User]:
    return (select(User).where(User.agency_id.in_(bindparam("agencies", expanding=True)), User.active.is_(True))
            .options(load_only(User.id, User.agency_id, User.name_enc), lazyload(User.agency)))


def _action_form_maker(item: AgendaItem) -> Callable[[], ActionForm]:
    """Read who may own an action, and return what builds the form from that (after the page's
    commit, where it renders one: see `_page`)."""
    agencies = sorted((i.agency for i in item.case.involvements), key=lambda a: a.name) if item.case else []
    names = {a.id: a.name for a in agencies}
    # Only what the choice shows: the person's name (decrypted) and their agency, already loaded.
    people = list(db.session.scalars(_active_staff_of(), {"agencies": list(names)})) if agencies else []

    def named_people() -> list[tuple[str, str]]:  # names decrypted when the form is shown or checked
        return [("", "No named person")] + sorted(
            ((str(u.id), f"{u.name} ({names[u.agency_id]})") for u in people), key=lambda c: c[1])

    def build() -> ActionForm:
        form = ActionForm()
        form.owner_agency.choices = [(str(a.id), a.name) for a in agencies]
        form.owner_user.choices = named_people
        return form

    return build


def _minutes_form_maker(item: AgendaItem, survivor_part: bool) -> Callable[[], MinutesForm]:
    """What builds the minutes form holding the item's saved minutes (the survivor-side part
    only for `survivor_part`), decrypted when it is built."""
    return lambda: MinutesForm(
        formdata=None, minutes=item.minutes, decisions=item.decisions, informs_survivor=item.informs_survivor,
        version=item.version, survivor_minutes=item.survivor_minutes if survivor_part else None,
        survivor_version=item.survivor_minutes_version if survivor_part else None)


def _page(meeting: Meeting, item: AgendaItem, *, minutes_form: MinutesForm | None = None,
          action_form: ActionForm | None = None, status: int = 200) -> tuple[str, int]:
    """Render the agenda view for one item; case content only past the gate."""
    if not run_ops.has_confirmed(meeting, current_user):
        return render_template("meetings/confidentiality.html", meeting=meeting, confirm_form=ConfirmForm()), 200
    viewer = access.current_viewer()
    context: dict[str, Any] = {"meeting": meeting, "item": item,
                               "may_chair": policy.may_schedule_meetings(viewer) and not meeting.closed,
                               "slots": meeting_ops.running_schedule(meeting), "level_labels": LEVEL_LABELS}
    forms: dict[str, Callable[[], Any]] = {"confirm_form": ConfirmForm}
    if item.kind == ItemKind.ACTIONS_REVIEW:
        invited = policy.meetings_limited_to_invitations_of(viewer)
        survivor_side = policy.may_see_survivor_actions(viewer)
        total = action_ops.carried_forward_count(meeting, invited, survivor_side=survivor_side)
        page, pages = requested_page(total, action_ops.ACTIONS_PER_PAGE)
        context["carried"] = carried = action_ops.carried_forward(meeting, invited, page=page,
                                                                  survivor_side=survivor_side)
        context.update(carried_total=total, page=page, pages=pages, per_page=action_ops.ACTIONS_PER_PAGE,
                       may_see_all_meetings=invited is None)
        action_ops.record_cases_listed(carried, "meeting.actions_review", by=current_user,
                                       purpose=f"meeting {meeting.reference}")
    if item.kind == ItemKind.CASE:
        sections = access.load_case_at_meeting(meeting, item, MEETING_SECTIONS)
        latest = assessment_ops.latest_by_side(assessment_ops.assessments_of(item.case))
        # Forms given (shown again with their errors) are used as they are; the others are
        # built after the commit, from what is read here.
        forms["minutes_form"] = ((lambda: minutes_form) if minutes_form is not None
                                 else _minutes_form_maker(item, policy.SECTION_SURVIVOR_MINUTES in sections))
        forms["action_form"] = (lambda: action_form) if action_form is not None else _action_form_maker(item)
        context.update(
            sections=sections, latest=latest, disagree=assessment_ops.sides_disagree(latest),
            children=item.case.people_in_role(PersonRole.CHILD),
            events=event_ops.events_of(item.case)[:10], case_actions=action_ops.actions_of_case(
                item.case.id, survivor_side=policy.SECTION_SURVIVOR_ACTIONS in sections),
        )
    return commit_then_render("meetings/run.html", after_commit=lambda: {k: make() for k, make in forms.items()},
                              **context), status


def _item(meeting: Meeting, item_id: uuid.UUID) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        abort(404)
    return item


@bp.route("")
def run(reference: str) -> Page:
    meeting = load_meeting(reference)
    return _page(meeting, _current_item(meeting))


@bp.route("/<uuid:item_id>/minutes", methods=["POST"])
def save_minutes(reference: str, item_id: uuid.UUID) -> Page:
    """Save the minutes; with `Accept: application/json` (the autosave) answer with the new version."""
    meeting = load_meeting(reference)
    chair_only(meeting, "meeting.minutes.denied")
    item = _item(meeting, item_id)
    form = MinutesForm()
    wants_json = request.accept_mimetypes.best == "application/json"
    if not form.validate_on_submit():
        if wants_json:
            return jsonify(saved=False, errors=form.errors), 400
        return _page(meeting, item, minutes_form=form, status=400)
    version = whole_number(form.version.data)
    survivor_side = policy.may_view_section(access.current_viewer(), policy.SECTION_SURVIVOR_MINUTES)
    try:
        with attempt():
            run_ops.save_minutes(item, minutes=form.minutes.data or "", decisions=form.decisions.data or "",
                                 informs_survivor=form.informs_survivor.data or "", version=version, by=current_user,
                                 survivor_minutes=(form.survivor_minutes.data or "") if survivor_side else None,
                                 survivor_version=whole_number(form.survivor_version.data))
    except ConflictError as error:
        if wants_json:
            return jsonify(saved=False, conflict=True, message=error.message), 409
        flash(error.message, "error")
        form.version.data = item.version
        form.survivor_version.data = item.survivor_minutes_version
        return _page(meeting, item, minutes_form=form, status=409)
    except OperationError as error:  # the meeting was closed meanwhile, say
        if wants_json:
            return jsonify(saved=False, refused=True, message=error.message), 400
        flash(error.message, "error")
        return _page(meeting, item, minutes_form=form, status=400)
    if wants_json:
        db.session.flush()
        if survivor_side:
            return jsonify(saved=True, version=item.version, survivor_version=item.survivor_minutes_version)
        return jsonify(saved=True, version=item.version)
    flash("Minutes saved.", "success")
    return redirect(url_for("meeting_run.run", reference=meeting.reference, item=item.id))


@bp.route("/<uuid:item_id>/actions", methods=["POST"])
def add_action(reference: str, item_id: uuid.UUID) -> Page:
    meeting = load_meeting(reference)
    chair_only(meeting, "action.create.denied")
    item = _item(meeting, item_id)
    form = _action_form_maker(item)()
    if form.validate_on_submit():
        plan = action_ops.ActionPlan(
            description=form.description.data or "", owner_agency_id=uuid.UUID(form.owner_agency.data),
            owner_user_id=uuid.UUID(form.owner_user.data) if form.owner_user.data else None,
            deadline=form.deadline.data,
            # Only a user the firewall lets see such actions may agree one.
            survivor_only=bool(form.survivor_only.data) and policy.may_see_survivor_actions(access.current_viewer()),
        )
        done = url_for("meeting_run.run", reference=meeting.reference, item=item.id)
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                action_ops.agree_action(item, plan, by=current_user)
                submissions.record_result(form.submission.data, done)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, done)
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash("Action agreed.", "success")
            return redirect(done)
    return _page(meeting, item, action_form=form, status=400)


@bp.route("/<uuid:item_id>/heard", methods=["POST"])
def mark_heard(reference: str, item_id: uuid.UUID) -> Response:
    """Mark the case heard and move to the next case on the agenda."""
    meeting = load_meeting(reference)
    chair_only(meeting, "meeting.heard.denied")
    item = _item(meeting, item_id)
    if ConfirmForm().validate_on_submit():
        try:
            with attempt():
                run_ops.mark_heard(item, by=current_user)
        except OperationError as error:
            flash(error.message, "error")
    return redirect(url_for("meeting_run.run", reference=meeting.reference))


@bp.route("/close", methods=["POST"])
def close(reference: str) -> Response:
    meeting = load_meeting(reference)
    chair_only(meeting, "meeting.close.denied")
    if ConfirmForm().validate_on_submit():
        try:
            with attempt():
                returned = run_ops.close_meeting(meeting, by=current_user)
        except OperationError as error:
            flash(error.message, "error")
            return redirect(url_for("meeting_run.run", reference=meeting.reference))
        note = f" Not heard, back in the queue: {', '.join(returned)}." if returned else ""
        flash(f"Meeting closed. The minutes are ready.{note}", "success")
        return redirect(url_for("minutes.show", reference=meeting.reference))
    return redirect(url_for("meeting_run.run", reference=meeting.reference))
