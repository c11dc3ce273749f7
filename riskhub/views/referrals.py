"""Referral to the joint meeting, the referral queue, and programme events."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from riskhub import access, audit, policy
from riskhub.extensions import db
from riskhub.forms import ConfirmForm, show_operation_error
from riskhub.forms.referrals import ProgrammeEventForm, ReferralForm
from riskhub.forms.submissions import show_already_submitted
from riskhub.lifecycle import commit_then_render
from riskhub.models.events import EventKind, ProgrammeEvent
from riskhub.models.referrals import REASON_LABELS, Consent, ReferralReason
from riskhub.operations import OperationError, attempt, submissions
from riskhub.operations import events as event_ops
from riskhub.operations import referrals as ops

bp = Blueprint("referrals", __name__)

Page = str | Response | tuple[str, int]


@bp.before_request
def _case_workers_only() -> None:
    access.require(policy.may_work_cases, "referrals.denied")


@bp.route("/cases/<reference>/refer", methods=["GET", "POST"])
def refer(reference: str) -> Page:
    """Refer a case to the meeting with reasons and the consent basis."""
    case, _ = access.load_case(reference, (policy.SECTION_SUMMARY, policy.SECTION_REFERRALS), action="referral.form",
                               permission=(policy.may_refer, "referral.denied"))
    form = ReferralForm()
    stale = form.is_submitted() and form.shown.data != case.status.value
    form.shown.data = case.status.value  # shown again, the form describes the case as it is now
    automatic = ops.automatic_reasons(case)
    earlier = ops.earlier_referral_of_pair(case)
    earlier_reference = access.earlier_case_reference(case, earlier) if earlier is not None else None
    status = 400
    if form.validate_on_submit() and stale:
        now = case.status.value.replace("_", " ")
        flash(f"Someone changed this case's status to {now} since your page was shown: it has not been referred. "
              "Check the case; if it still needs to go to the meeting, press Refer to the meeting again.", "error")
        status = 409
    elif form.is_submitted() and not form.errors:
        try:
            with attempt():
                referral = ops.refer_case(
                    case, by=current_user, reasons={ReferralReason(r) for r in form.reasons.data or []},
                    consent=Consent(form.consent.data), decided_by=form.decided_by.data or "",
                    consent_reason=form.consent_reason.data or "",
                )
        except OperationError as error:
            show_operation_error(form, error)
        else:
            note = " It is marked as a repeat." if referral.repeat_of_id else ""
            flash(f"{case.reference} is in the queue for the next meeting.{note}", "success")
            return redirect(url_for("cases.show", reference=case.reference))
    page = commit_then_render("referrals/new.html", case=case, form=form, automatic=automatic, earlier=earlier,
                              earlier_reference=earlier_reference, reason_labels=REASON_LABELS)
    return page, status if form.is_submitted() else 200


@bp.route("/referrals")
def queue() -> str:
    """Referred cases waiting for a meeting (references, reasons and waiting time only)."""
    access.require(policy.may_see_referral_queue, "referrals.queue.denied")
    referrals = ops.referral_queue()
    actor = audit.actor_for(current_user)
    for referral in referrals:  # each case's referral reasons are shown: one entry per case
        audit.record("referrals.queue", actor=actor, object_type="case", object_id=referral.case_id,
                     case_ref=referral.case.reference, sections=(policy.SECTION_REFERRALS,))
    return commit_then_render("referrals/queue.html", referrals=referrals, days_waiting=ops.days_waiting,
                              reason_labels=REASON_LABELS)


@bp.route("/cases/<reference>/events/new", methods=["GET", "POST"])
def new_event(reference: str) -> Page:
    """Programme staff record what happened; the survivor side sees it as an alert."""
    case, _ = access.load_case(reference, (policy.SECTION_SUMMARY, policy.SECTION_EVENTS), action="event.form",
                               permission=(policy.may_record_programme_event, "event.denied"))
    form = ProgrammeEventForm()
    if form.validate_on_submit():
        done = url_for("cases.show", reference=case.reference)
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                event_ops.record_event(case, EventKind(form.kind.data), form.occurred_on.data,
                                       form.note.data or "", by=current_user)
                submissions.record_result(form.submission.data, done)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, done)
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash("Event recorded. The survivor-side workers on the case will see it.", "success")
            return redirect(done)
    return render_template("referrals/event.html", case=case, form=form), 400 if form.is_submitted() else 200


@bp.route("/cases/<reference>/events/<uuid:event_id>/seen", methods=["POST"])
def acknowledge_event(reference: str, event_id: uuid.UUID) -> Response:
    """Survivor-side staff mark an event alert as seen for their agency."""
    case, _ = access.load_case(reference, (policy.SECTION_EVENTS,), action="event.acknowledge",
                               permission=(policy.sees_event_alerts, "event.acknowledge.denied"))
    event = db.session.get(ProgrammeEvent, event_id)
    if event is None or event.case_id != case.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        event_ops.acknowledge(event, by=current_user, case=case)
        flash("Alert marked as seen.", "success")
    return redirect(url_for("cases.show", reference=case.reference))
