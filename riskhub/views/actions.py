"""Safety actions: my actions, our agency's actions, updates, and the escalation report."""

from __future__ import annotations

import uuid
from datetime import date
from typing import NoReturn

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from riskhub import access, audit, policy
from riskhub.extensions import db
from riskhub.forms import show_operation_error
from riskhub.forms.meetings import ActionUpdateForm
from riskhub.lifecycle import commit_then_render
from riskhub.models.accounts import Agency, User
from riskhub.models.meetings import ActionStatus, NotDoneReason, SafetyAction
from riskhub.operations import ConflictError, OperationError, attempt
from riskhub.operations import actions as ops
from riskhub.views import requested_page, whole_number

bp = Blueprint("actions", __name__, url_prefix="/actions")


@bp.before_request
def _case_workers_only() -> None:
    access.require(lambda v: policy.may_work_cases(v) or policy.may_schedule_meetings(v), "actions.denied")


def _open_actions(title: str, *, user: User | None = None, agency: Agency | None = None) -> str:
    """A page of a person's or an agency's open actions, overdue first, with how many there are."""
    today = date.today()
    survivor_side = policy.may_see_survivor_actions(access.current_viewer())
    counts = ops.open_counts(today=today, user=user, agency=agency, survivor_side=survivor_side)
    page, pages = requested_page(counts.open, ops.ACTIONS_PER_PAGE)
    actions = ops.open_actions(page=page, user=user, agency=agency, survivor_side=survivor_side)
    ops.record_cases_listed(actions, "actions.list", by=current_user)
    return commit_then_render("actions/list.html", actions=actions, title=title, today=today, counts=counts,
                              page=page, pages=pages, per_page=ops.ACTIONS_PER_PAGE)


@bp.route("/mine")
def mine() -> str:
    return _open_actions("My actions", user=current_user)


@bp.route("/agency")
def agency() -> str:
    return _open_actions(f"Actions of {current_user.agency.name}", agency=current_user.agency)


@bp.route("/not-done")
def not_done() -> str:
    """The chair's report of actions not done because the agency did not act, a page at a time."""
    viewer = access.require(policy.may_schedule_meetings, "actions.report.denied")
    survivor_side = policy.may_see_survivor_actions(viewer)
    total = ops.not_done_by_agency_count(survivor_side=survivor_side)
    page, pages = requested_page(total, ops.ACTIONS_PER_PAGE)
    actions = ops.not_done_by_agency(page=page, survivor_side=survivor_side)
    ops.record_cases_listed(actions, "actions.report", by=current_user)
    return commit_then_render("actions/list.html", actions=actions, today=date.today(), counts=None,
                              report_total=total, page=page, pages=pages, per_page=ops.ACTIONS_PER_PAGE,
                              title="Actions not done because the agency did not act")


def _refuse(action_id: uuid.UUID, case_ref: str | None, status: int) -> NoReturn:
    audit.record("action.view", actor=audit.actor_for(current_user), outcome=audit.DENIED,
                 object_type="safety_action", object_id=action_id, case_ref=case_ref)
    abort(status)


@bp.route("/<uuid:action_id>", methods=["GET", "POST"])
def update(action_id: uuid.UUID) -> str | Response | tuple[str, int]:
    """Owners report progress with a note; the version check stops silent overwrites."""
    action = db.session.get(SafetyAction, action_id)
    viewer = access.current_viewer()
    # A survivor-side only action is not acknowledged to exist across the firewall: refused as an
    # address that matches no action is, and logged the same way, without its case (the entry is
    # in the log of the user's own agency, whose auditor would otherwise learn the case has one).
    if action is None or (action.survivor_only and not policy.may_see_survivor_actions(viewer)):
        _refuse(action_id, None, 404)
    if not policy.may_update_action(viewer, action.owner_agency_id, action.survivor_only):
        _refuse(action_id, action.case.reference, 403)
    audit.record("action.view", actor=audit.actor_for(current_user), object_type="safety_action",
                 object_id=action.id, case_ref=action.case.reference,
                 sections=(policy.SECTION_ACTIONS, policy.SECTION_SURVIVOR_ACTIONS) if action.survivor_only
                 else (policy.SECTION_ACTIONS,))
    form = ActionUpdateForm()
    status = 200
    if form.validate_on_submit():
        try:
            with attempt():
                ops.update_action(action, status=ActionStatus(form.status.data), note=form.note.data or "",
                                  reason=NotDoneReason(form.reason.data) if form.reason.data else None,
                                  version=whole_number(form.version.data),
                                  by=current_user)
        except ConflictError as error:
            flash(error.message, "error")
            form.version.data = action.version
            status = 409
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash("Action updated.", "success")
            return redirect(url_for("actions.mine") if action.owner_user_id == current_user.id
                            else url_for("actions.agency"))
    elif not form.is_submitted():
        form.status.data = action.status.value
        form.version.data = action.version
    if form.errors:
        status = 400
    return render_template("actions/update.html", action=action, form=form, today=date.today()), status
