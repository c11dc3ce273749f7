"""Recording information sharing on a case (case content: involved agencies only, firewall applied)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from riskhub import access, policy
from riskhub.forms import show_operation_error
from riskhub.forms.sharing import SharingForm
from riskhub.forms.submissions import show_already_submitted
from riskhub.models.partnerships import Category
from riskhub.models.sharing import SharingConsent, SharingDecision
from riskhub.operations import OperationError, attempt, submissions
from riskhub.operations import sharing as sharing_ops

bp = Blueprint("sharing", __name__, url_prefix="/cases")

Page = str | Response | tuple[str, int]


@bp.before_request
def _case_workers_only() -> None:
    access.require(policy.may_work_cases, "cases.denied")


@bp.app_template_global("sharing_basis_label")
def _basis_label(key: str | None) -> str:
    return sharing_ops.basis_label(key)


@bp.route("/<reference>/sharing/new", methods=["GET", "POST"])
def new(reference: str) -> Page:
    """Record what was shared with which agency and why, or a decision not to share."""
    case, _ = access.load_case(reference, (), action="sharing.form",
                               permission=(policy.may_record_sharing, "sharing.record"))
    form = SharingForm()
    agencies = {str(a.id): a for a in sharing_ops.agencies_to_share_with(current_user)}
    form.with_agency.choices = [("", "Choose an agency")] + [(k, a.name) for k, a in agencies.items()]
    form.legal_basis.choices = list(sharing_ops.legal_bases().items())
    if form.validate_on_submit():
        details = sharing_ops.SharingDetails(
            decision=SharingDecision(form.decision.data), with_agency=agencies[form.with_agency.data],
            decided_on=form.decided_on.data, consent=SharingConsent(form.consent.data),
            legal_basis=form.legal_basis.data or None, information=form.information.data or "",
            reason=form.reason.data or "", category=Category(form.category.data) if form.category.data else None)
        done = url_for("cases.show", reference=case.reference) + "#sharing-heading"
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                sharing_ops.record_sharing(case, details, by=current_user)
                submissions.record_result(form.submission.data, done)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, done)
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash("Information sharing recorded.", "success")
            return redirect(done)
    page = render_template("sharing/new.html", form=form, case=case)
    return page, 400 if form.is_submitted() else 200
