"""Editing a case's people and contact compartment, and emergency access from outside it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from riskhub import access, audit, policy
from riskhub.extensions import db
from riskhub.forms import show_operation_error
from riskhub.forms.cases import ChildForm, ContactForm, EmergencyAccessForm, SurvivorForm
from riskhub.forms.submissions import show_already_submitted
from riskhub.models.cases import Case
from riskhub.operations import ConflictError, OperationError, attempt, submissions
from riskhub.operations import cases as ops
from riskhub.views import whole_number
from riskhub.views.cases import contact_details, survivor_profile

bp = Blueprint("case_details", __name__, url_prefix="/cases/<reference>")

Page = str | Response | tuple[str, int]


@bp.before_request
def _case_workers_only() -> None:
    access.require(policy.may_work_cases, "cases.denied")


def _back(case: Case) -> Response:
    return redirect(url_for("cases.show", reference=case.reference))


def _version(form: SurvivorForm | ContactForm) -> int | None:
    return whole_number(form.version.data)


@bp.route("/survivor", methods=["GET", "POST"])
def edit_survivor(reference: str) -> Page:
    """Correct the survivor's name, date of birth and profile; a stale copy is refused."""
    case, _ = access.load_case(
        reference, (policy.SECTION_PEOPLE, policy.SECTION_SURVIVOR_DETAILS), action="case.edit",
        permission=(lambda v: policy.may_view_section(v, policy.SECTION_SURVIVOR_DETAILS), "case.edit.denied"))
    survivor = case.survivor
    if survivor is None:
        abort(404)
    form = SurvivorForm()
    status = 200
    if form.validate_on_submit():
        details = ops.PersonDetails(form.survivor_given_name.data or "", form.survivor_family_name.data or "",
                                    form.survivor_date_of_birth.data)
        try:
            with attempt():
                ops.update_survivor(case, details, survivor_profile(form), by=current_user, version=_version(form))
        except ConflictError as error:
            flash(error.message, "error")
            form.version.data = survivor.version  # saving again after review is a deliberate overwrite
            status = 409
        else:
            flash("Survivor's details saved.", "success")
            return _back(case)
    elif not form.is_submitted():
        profile = survivor.details
        form.survivor_given_name.data, form.survivor_family_name.data = survivor.given_name, survivor.family_name
        form.survivor_date_of_birth.data = survivor.date_of_birth
        for name in ("gender", "language", "ethnicity", "disability", "lgbt", "pregnant"):
            getattr(form, f"survivor_{name}").data = profile.get(name, "")
        form.survivor_interpreter.data = bool(profile.get("interpreter_needed"))
        form.version.data = survivor.version
    if form.errors:
        status = 400
    return render_template("cases/edit_survivor.html", case=case, form=form, current=survivor,
                           conflict=status == 409), status


@bp.route("/contact", methods=["GET", "POST"])
def edit_contact(reference: str) -> Page:
    """Correct the survivor contact compartment (survivor side only); a stale copy is refused."""
    case, _ = access.load_case(
        reference, (policy.SECTION_SURVIVOR_CONTACT,), action="case.edit",
        permission=(lambda v: policy.may_view_section(v, policy.SECTION_SURVIVOR_CONTACT), "case.edit.denied"))
    contact = case.survivor_contact
    form = ContactForm()
    status = 200
    if form.validate_on_submit():
        try:
            with attempt():
                ops.update_contact(case, contact_details(form), by=current_user, version=_version(form))
        except ConflictError as error:
            flash(error.message, "error")
            form.version.data = contact.version if contact else None
            status = 409
        else:
            flash("Contact and location details saved.", "success")
            return _back(case)
    elif not form.is_submitted() and contact is not None:
        for name in ("address", "phone", "email", "safe_contact", "do_not_contact"):
            getattr(form, f"contact_{name}").data = getattr(contact, name)
        form.version.data = contact.version
    if form.errors:
        status = 400
    return render_template("cases/edit_contact.html", case=case, form=form, current=contact,
                           conflict=status == 409), status


@bp.route("/children/new", methods=["GET", "POST"])
def add_child(reference: str) -> Page:
    case, _ = access.load_case(reference, (policy.SECTION_PEOPLE,), action="case.edit")
    form = ChildForm()
    if form.validate_on_submit():
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                ops.add_child(case, form.given_name.data or "", form.family_name.data or "", form.age.data,
                              bool(form.in_household.data), by=current_user)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, url_for("cases.show", reference=case.reference))
        flash("Child added.", "success")
        return _back(case)
    return render_template("cases/add_child.html", case=case, form=form), 400 if form.errors else 200


@bp.route("/emergency-access", methods=["GET", "POST"])
def emergency_access(reference: str) -> Page:
    """Break-glass: a written reason buys time-limited access, flagged for audit review."""
    case = db.session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        abort(404)
    access.may_in_case(lambda v: policy.may_take_emergency_access(v, case.agency_ids), case,
                       "case.emergency_access.denied")
    form = EmergencyAccessForm()
    if form.validate_on_submit():
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                grant = ops.take_emergency_access(case, form.reason.data or "", by=current_user)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, url_for("cases.show", reference=case.reference))
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash(f"Emergency access granted until {grant.expires_at:%H:%M} UTC. An auditor will review it.",
                  "success")
            return _back(case)
    named = policy.may_see_holding_agencies(access.current_viewer())
    agencies = sorted(i.agency.name for i in case.involvements) if named else []
    # Which agencies hold a case can point to where she is (a refuge): naming them is on record.
    audit.record("case.emergency_access.form", actor=audit.actor_for(current_user), object_type="case",
                 object_id=case.id, case_ref=case.reference,
                 purpose="agencies holding the case shown" if named else "form shown, agencies not named")
    return render_template("cases/emergency.html", case=case, form=form, agencies=agencies), \
        400 if form.errors else 200
