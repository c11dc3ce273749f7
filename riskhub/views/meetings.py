"""Meetings: the list, scheduling, the agenda (built from the referral queue) and attendance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import lazyload
from werkzeug.wrappers import Response

from riskhub import access, audit, circulation, policy
from riskhub.extensions import db
from riskhub.forms import ConfirmForm, show_operation_error
from riskhub.forms.meetings import AddCaseForm, AttendanceForm, MeetingForm
from riskhub.forms.submissions import show_already_submitted
from riskhub.lifecycle import commit_then_render
from riskhub.models.accounts import Agency
from riskhub.models.meetings import AgendaItem, Attendance, AttendanceKind, ItemKind, Meeting
from riskhub.models.referrals import Referral, ReferralStatus
from riskhub.operations import OperationError, attempt, load_collections, submissions
from riskhub.operations import meeting_run as run_ops
from riskhub.operations import meetings as ops
from riskhub.views import whole_number

bp = Blueprint("meetings", __name__, url_prefix="/meetings")

Page = str | Response | tuple[str, int]


@bp.before_request
def _meeting_users_only() -> None:
    access.require(lambda v: policy.may_work_cases(v) or policy.may_schedule_meetings(v), "meetings.denied")


@cache
def _meeting_by_reference() -> Select[Meeting]:
    # Its invitations are read by `load_meeting`, not by the mapping's own eager load.
    return select(Meeting).where(Meeting.reference == bindparam("reference")).options(lazyload(Meeting.invites))


@cache
def _waiting_referrals() -> Select[Referral]:
    return select(Referral).where(Referral.status == ReferralStatus.WAITING).order_by(Referral.referred_at)


def load_meeting(reference: str) -> Meeting:
    """Load a meeting the user may see, or abort 404/403 (denials are logged)."""
    meeting = db.session.scalar(_meeting_by_reference(), {"reference": reference})
    if meeting is None:
        abort(404)
    load_collections(meeting, "invites")
    viewer = access.current_viewer()
    if not policy.may_see_meeting(viewer, meeting.invited_agency_ids):
        audit.record("meeting.view", actor=audit.actor_for(current_user), outcome=audit.DENIED,
                     object_type="meeting", object_id=meeting.id)
        abort(403)
    load_collections(meeting, "items")  # its agenda, read only for those who may see it
    return meeting


def chair_only(meeting: Meeting, action: str) -> None:
    if not policy.may_schedule_meetings(access.current_viewer()):
        audit.record(action, actor=audit.actor_for(current_user), outcome=audit.DENIED, object_type="meeting",
                     object_id=meeting.id)
        abort(403)


FIELD_FOR = {"starts_at": "date"}  # operation field names that the meeting form calls differently


@bp.route("/")
def index() -> str:
    viewer = access.current_viewer()
    chair = policy.may_schedule_meetings(viewer)
    meetings = ops.upcoming_meetings(None if chair else viewer.agency_id)
    past = ops.upcoming_meetings(None if chair else viewer.agency_id, include_closed=True)
    return render_template("meetings/index.html", meetings=meetings,
                           closed=[m for m in past if m.closed][-20:], may_schedule=chair)


@bp.route("/new", methods=["GET", "POST"])
def new() -> Page:
    access.require(policy.may_schedule_meetings, "meeting.schedule.denied")
    form = MeetingForm()
    agencies = list(db.session.scalars(select(Agency).where(Agency.active.is_(True)).order_by(Agency.name)))
    form.agencies.choices = [(str(a.id), a.name) for a in agencies]
    if form.validate_on_submit():
        plan = ops.MeetingPlan(
            starts_at=datetime.combine(form.date.data, form.time.data, tzinfo=UTC),
            duration_minutes=form.duration.data, venue=form.venue.data or "", online_link=form.online_link.data or "",
            agency_ids=frozenset(uuid.UUID(a) for a in form.agencies.data or []), repeat=form.repeat.data,
            occurrences=form.occurrences.data or 1, slot_minutes=form.slot_minutes.data,
        )
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                meetings = ops.schedule_meetings(plan, chair=current_user)
                done = url_for("meetings.show", reference=meetings[0].reference)
                submissions.record_result(form.submission.data, done)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, url_for("meetings.index"))
        except OperationError as error:
            show_operation_error(form, error, FIELD_FOR)
        else:
            flash(f"Scheduled {len(meetings)} meeting{'s' if len(meetings) > 1 else ''}.", "success")
            return redirect(done)
    status = 400 if form.errors or form.is_submitted() else 200
    return render_template("meetings/new.html", form=form), status


@bp.route("/<reference>")
def show(reference: str) -> str:
    """The meeting and its agenda: case references and risk levels only, with the running times."""
    return _show_page(load_meeting(reference))


def _show_page(meeting: Meeting, add_form: AddCaseForm | None = None) -> str:
    """The meeting page; `add_form` is a refused "Add this case", shown again with its error."""
    viewer = access.current_viewer()
    slots = ops.running_schedule(meeting)
    levels = ops.agenda_risk_levels(meeting)
    actor = audit.actor_for(current_user)
    for item in meeting.items:
        if item.case is not None:
            audit.record("agenda.view", actor=actor, object_type="meeting", object_id=meeting.id,
                         case_ref=item.case.reference, sections=(policy.SECTION_ASSESSMENTS,))
    waiting = [(str(r.id), r.case.reference) for r in db.session.scalars(_waiting_referrals())]

    def forms() -> dict[str, Any]:  # built after the commit
        form = add_form or AddCaseForm(formdata=None)
        form.referral.choices = waiting
        return {"add_form": form, "confirm_form": ConfirmForm()}

    return commit_then_render(
        "meetings/show.html", after_commit=forms, meeting=meeting, slots=slots, levels=levels,
        overrun=ops.overrun_minutes(meeting, slots), may_chair=policy.may_schedule_meetings(viewer),
        may_remove=policy.may_take_cases_off_agenda(viewer), agencies=ops.invited_agencies(meeting),
        confirmed=run_ops.has_confirmed(meeting, current_user), agenda_sent=circulation.last_sent(meeting),
    )


def _back(meeting: Meeting) -> Response:
    return redirect(url_for("meetings.show", reference=meeting.reference))


@bp.route("/<reference>/propose", methods=["POST"])
def propose(reference: str) -> Response:
    meeting = load_meeting(reference)
    chair_only(meeting, "agenda.denied")
    if ConfirmForm().validate_on_submit():
        try:
            with attempt():
                added = ops.propose_agenda(meeting, by=current_user)
        except OperationError as error:
            flash(error.message, "error")
        else:
            flash(f"Added {len(added)} referred case{'s' if len(added) != 1 else ''} to the agenda.", "success")
    return _back(meeting)


@bp.route("/<reference>/agenda/send", methods=["POST"])
def send_agenda(reference: str) -> Response:
    """Email the agenda (references, times and risk levels) to the agencies invited."""
    meeting = load_meeting(reference)
    chair_only(meeting, "agenda.send.denied")
    if ConfirmForm().validate_on_submit():
        link = current_app.config["BASE_URL"].rstrip("/") + url_for("meetings.show", reference=meeting.reference)
        try:  # it refuses before recording anything, and commits each entry before its mail goes
            sent = circulation.send_agenda(meeting, by=current_user, link=link)
        except OperationError as error:
            flash(error.message, "error")
            return _back(meeting)
        people = f"{sent.recipients} {'person' if sent.recipients == 1 else 'people'}"
        if sent.failed and sent.recipients:
            flash(f"The mail server stopped answering: the agenda went to {people} only. "
                  "Send it again when the mail server is back.", "error")
        elif sent.failed:
            flash("The mail server could not be reached: the agenda was not sent. Try again later.", "error")
        else:
            flash(f"Agenda sent to {people} in the agencies invited.", "success")
    return _back(meeting)


@bp.route("/<reference>/items", methods=["POST"])
def add_item(reference: str) -> Page:
    """Add a referred case to the agenda; with none chosen, the meeting page says so beside the list."""
    meeting = load_meeting(reference)
    chair_only(meeting, "agenda.denied")
    form = AddCaseForm()
    waiting = {str(r.id): r for r in db.session.scalars(select(Referral).where(
        Referral.status.in_([ReferralStatus.WAITING, ReferralStatus.SCHEDULED])))}
    form.referral.choices = [(k, r.case.reference) for k, r in waiting.items()]
    if form.validate_on_submit():
        try:
            with attempt():
                ops.add_case(meeting, waiting[form.referral.data], by=current_user)
        except OperationError as error:
            flash(error.message, "error")
        else:
            flash(f"{waiting[form.referral.data].case.reference} added to the agenda.", "success")
    else:
        if not any(r.status == ReferralStatus.WAITING for r in waiting.values()):
            flash("No referred case is waiting for a meeting now: the list has gone.", "error")
            return _back(meeting)
        if form.referral.data and not form.referral.errors[1:]:  # sent, but not (or no longer) waiting
            form.referral.errors = ["That case is no longer waiting for a meeting: choose another from the list"]
        return _show_page(meeting, add_form=form), 400
    return _back(meeting)


def _item(meeting: Meeting, item_id: uuid.UUID) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        abort(404)
    return item


# The Move and Remove buttons send what their page showed as hidden fields; `request.values`
# also takes the query string such buttons used to carry, from a page opened before that.
def _shown() -> int | None:
    """The entry's version the Move or Remove button was shown with."""
    return whole_number(request.values.get("shown"))


def _passing() -> uuid.UUID | None:
    """The case a Move button would pass as its page showed it (none at either end)."""
    try:
        return uuid.UUID(request.values.get("past", ""))
    except ValueError:
        return None


@bp.route("/<reference>/items/<uuid:item_id>/remove", methods=["POST"])
def remove_item(reference: str, item_id: uuid.UUID) -> Response:
    meeting = load_meeting(reference)
    chair_only(meeting, "agenda.denied")
    if not policy.may_take_cases_off_agenda(access.current_viewer()):
        # Refused before anything about the entry is looked at: see the policy.
        audit.record("agenda.denied", actor=audit.actor_for(current_user), outcome=audit.DENIED,
                     object_type="meeting", object_id=meeting.id, purpose="remove a case")
        flash(ops.NOT_FOR_PROGRAMME_CHAIRS, "error")
        return _back(meeting)
    if ConfirmForm().validate_on_submit():
        if db.session.get(AgendaItem, item_id) is None:  # the button sent twice, or by two chairs
            flash(ops.NO_LONGER_ON_AGENDA, "error")
            return _back(meeting)
        try:
            with attempt():
                ops.remove_item(meeting, _item(meeting, item_id), by=current_user, shown=_shown())
        except OperationError as error:
            flash(error.message, "error")
    return _back(meeting)


@bp.route("/<reference>/items/<uuid:item_id>/move", methods=["POST"])
def move_item(reference: str, item_id: uuid.UUID) -> Response:
    meeting = load_meeting(reference)
    chair_only(meeting, "agenda.denied")
    offset = -1 if request.values.get("direction") == "up" else 1
    if ConfirmForm().validate_on_submit():
        try:
            with attempt():
                ops.move_item(meeting, _item(meeting, item_id), offset, by=current_user, shown=_shown(),
                              passing=_passing())
        except OperationError as error:
            flash(error.message, "error")
    return _back(meeting)


@bp.route("/<reference>/attendance", methods=["GET", "POST"])
def attendance(reference: str) -> Page:
    """Attendees, apologies and observers; the chair records them."""
    meeting = load_meeting(reference)
    chair_only(meeting, "meeting.attendance.denied")
    form = AttendanceForm()
    agencies = ops.invited_agencies(meeting)
    form.agency.choices = [(str(a.id), a.name) for a in agencies]
    if form.validate_on_submit():
        agency = next(a for a in agencies if str(a.id) == form.agency.data)
        kind = AttendanceKind(form.kind.data)
        done = url_for("meetings.attendance", reference=meeting.reference)
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                run_ops.add_attendance(meeting, kind, agency, name=form.name.data or "",
                                       info_sent_on=form.info_sent_on.data if kind == AttendanceKind.APOLOGY else None,
                                       by=current_user)
                submissions.record_result(form.submission.data, done)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, done)
        except OperationError as error:
            show_operation_error(form, error, FIELD_FOR)
        else:
            flash("Recorded.", "success")
            return redirect(done)
    return render_template("meetings/attendance.html", meeting=meeting, form=form,
                           confirm_form=ConfirmForm()), 400 if form.is_submitted() else 200


@bp.route("/<reference>/attendance/<uuid:row_id>/confirm", methods=["POST"])
def confirm_for(reference: str, row_id: uuid.UUID) -> Response:
    """The chair records that an attendee signed the confidentiality statement."""
    meeting = load_meeting(reference)
    chair_only(meeting, "meeting.attendance.denied")
    row = db.session.get(Attendance, row_id)
    if row is None or row.meeting_id != meeting.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            with attempt():
                run_ops.confirm_confidentiality(meeting, row, by=current_user)
        except OperationError as error:
            flash(error.message, "error")
    return redirect(url_for("meetings.attendance", reference=meeting.reference))


@bp.route("/<reference>/confidentiality", methods=["POST"])
def confirm_myself(reference: str) -> Response:
    """A signed-in attendee reads and confirms the confidentiality statement themselves."""
    meeting = load_meeting(reference)
    if ConfirmForm().validate_on_submit():
        try:
            with attempt():
                row = next((a for a in meeting.attendance if a.user_id == current_user.id), None)
                if row is None:
                    row = run_ops.add_attendance(meeting, AttendanceKind.ATTENDEE, current_user.agency,
                                                 user=current_user, by=current_user)
                run_ops.confirm_confidentiality(meeting, row, by=current_user)
        except OperationError as error:
            flash(error.message, "error")
        else:
            flash("Thank you: your confirmation of the confidentiality statement is recorded.", "success")
    target = request.args.get("next") == "run"
    return redirect(url_for("meeting_run.run", reference=meeting.reference) if target else
                    url_for("meetings.show", reference=meeting.reference))


@bp.route("/<reference>/start", methods=["POST"])
def start(reference: str) -> Response:
    meeting = load_meeting(reference)
    chair_only(meeting, "meeting.start.denied")
    if ConfirmForm().validate_on_submit():
        try:
            with attempt():
                run_ops.start_meeting(meeting, by=current_user)
        except OperationError as error:
            flash(error.message, "error")
            return _back(meeting)
    return redirect(url_for("meeting_run.run", reference=meeting.reference))


ITEM_LABELS = {ItemKind.ACTIONS_REVIEW: "Review of outstanding actions", ItemKind.OTHER_BUSINESS: "Any other business"}
