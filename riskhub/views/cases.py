"""Cases: the list, the new-case form with its duplicate check, and the case page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from riskhub import access, audit, policy
from riskhub.extensions import db
from riskhub.forms.cases import CaseForm
from riskhub.operations import cases as case_ops

bp = Blueprint("cases", __name__, url_prefix="/cases")

CASE_PAGE_SECTIONS = (policy.SECTION_SUMMARY, policy.SECTION_PEOPLE, policy.SECTION_SURVIVOR_CONTACT)


@bp.before_request
def _case_workers_only() -> None:
    access.require(policy.may_work_cases, "cases.denied")


@bp.route("/")
def index() -> str:
    """References and status of the cases the user's agency is involved in (no names)."""
    return render_template("cases/index.html", cases=access.cases_for_viewer())


def _details(form: CaseForm, prefix: str) -> case_ops.PersonDetails:
    return case_ops.PersonDetails(
        given_name=getattr(form, f"{prefix}_given_name").data or "",
        family_name=getattr(form, f"{prefix}_family_name").data or "",
        date_of_birth=getattr(form, f"{prefix}_date_of_birth").data,
    )


def _contact(form: CaseForm) -> case_ops.ContactDetails:
    return case_ops.ContactDetails(
        address=form.contact_address.data or "",
        phone=form.contact_phone.data or "",
        email=form.contact_email.data or "",
        safe_contact=form.contact_safe_contact.data or "",
        do_not_contact=form.contact_do_not_contact.data or "",
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | tuple[str, int]:
    """Create a case, after warning of cases that already hold the same survivor."""
    form = CaseForm()
    duplicates: list[case_ops.PossibleDuplicate] = []
    if form.validate_on_submit():
        survivor = _details(form, "survivor")
        duplicates = case_ops.possible_duplicates(survivor)
        for found in duplicates:
            audit.record("case.duplicate_check", actor=audit.actor_for(current_user),
                         object_type="case", case_ref=found.reference, sections=("existence",))
        if duplicates and not form.confirm_not_duplicate.data:
            form.confirm_not_duplicate.errors = [
                "A case may already exist for this survivor: check the list, then confirm this is a different person"
            ]
        else:
            contact_allowed = policy.may_view_section(access.current_viewer(), policy.SECTION_SURVIVOR_CONTACT)
            with db.session.begin_nested():
                case = case_ops.create_case(
                    creator=current_user,
                    survivor=survivor,
                    perpetrators=[_details(form, "perpetrator")],
                    contact=_contact(form) if contact_allowed else case_ops.ContactDetails(),
                )
            flash(f"Case {case.reference} created.", "success")
            return redirect(url_for("cases.show", reference=case.reference))
    status = 400 if form.errors else 200
    contact_allowed = policy.may_view_section(access.current_viewer(), policy.SECTION_SURVIVOR_CONTACT)
    page = render_template("cases/new.html", form=form, duplicates=duplicates, contact_allowed=contact_allowed)
    return page, status


@bp.route("/<reference>")
def show(reference: str) -> str:
    """The case page; what it shows is decided by the gate and logged before rendering."""
    case, sections = access.load_case(reference, CASE_PAGE_SECTIONS)
    return render_template("cases/show.html", case=case, sections=sections)
