"""Cases: the list, the new-case form with its duplicate check, and the case page."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from riskhub import access, audit, charts, policy
from riskhub.assessments import LEVEL_LABELS
from riskhub.extensions import db
from riskhub.forms import ConfirmForm, show_operation_error
from riskhub.forms.cases import CaseForm, InviteAgencyForm, NoteForm, StatusForm
from riskhub.forms.submissions import show_already_submitted
from riskhub.lifecycle import commit_then_render
from riskhub.models.accounts import Agency
from riskhub.models.cases import Case
from riskhub.operations import actions as action_ops
from riskhub.operations import assessments as assessment_ops
from riskhub.operations import attempt, submissions
from riskhub.operations import cases as case_ops
from riskhub.operations import events as event_ops
from riskhub.operations import partner_contact as contact_ops
from riskhub.operations import referrals as referral_ops
from riskhub.operations import sharing as sharing_ops
from riskhub.views import requested_page

bp = Blueprint("cases", __name__, url_prefix="/cases")

Page = str | Response | tuple[str, int]

CASE_PAGE_SECTIONS = (
    policy.SECTION_SUMMARY, policy.SECTION_PEOPLE, policy.SECTION_SURVIVOR_DETAILS,
    policy.SECTION_SURVIVOR_CONTACT, policy.SECTION_ASSESSMENTS, policy.SECTION_EVENTS,
    policy.SECTION_REFERRALS, policy.SECTION_NOTES, policy.SECTION_CONFIDENTIAL_NOTES, policy.SECTION_ACTIONS,
    policy.SECTION_SURVIVOR_ACTIONS, policy.SECTION_SHARING, policy.SECTION_SURVIVOR_SHARING,
)


@bp.before_request
def _case_workers_only() -> None:
    access.require(policy.may_work_cases, "cases.denied")


@bp.route("/")
def index() -> str:
    """References and status of the cases the user's agency is involved in (no names), a page at a time."""
    total = access.case_count_for_viewer()
    page, pages = requested_page(total, access.CASES_PER_PAGE)
    return render_template("cases/index.html", cases=access.cases_for_viewer(page), page=page, pages=pages,
                           total=total, per_page=access.CASES_PER_PAGE)


def _details(form: CaseForm, prefix: str) -> case_ops.PersonDetails:
    return case_ops.PersonDetails(
        given_name=getattr(form, f"{prefix}_given_name").data or "",
        family_name=getattr(form, f"{prefix}_family_name").data or "",
        date_of_birth=getattr(form, f"{prefix}_date_of_birth").data,
    )


def survivor_profile(form: object) -> case_ops.SurvivorProfile:
    """The survivor profile fields shared by the new-case and edit-survivor forms."""
    value = lambda name: getattr(form, f"survivor_{name}").data  # noqa: E731
    return case_ops.SurvivorProfile(
        gender=value("gender") or "", language=(value("language") or "").strip(),
        interpreter_needed=bool(value("interpreter")), ethnicity=(value("ethnicity") or "").strip(),
        disability=value("disability") or "", lgbt=value("lgbt") or "", pregnant=value("pregnant") or "",
    )


def contact_details(form: object) -> case_ops.ContactDetails:
    """The contact compartment fields shared by the new-case and edit-contact forms."""
    value = lambda name: getattr(form, f"contact_{name}").data or ""  # noqa: E731
    return case_ops.ContactDetails(
        address=value("address"), phone=value("phone"), email=value("email"),
        safe_contact=value("safe_contact"), do_not_contact=value("do_not_contact"),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Page:
    """Create a case, after warning of cases that already hold the same survivor."""
    form = CaseForm()
    viewer = access.current_viewer()
    contact_allowed = policy.may_view_section(viewer, policy.SECTION_SURVIVOR_CONTACT)
    duplicates: list[case_ops.PossibleDuplicate] = []
    if form.validate_on_submit():
        try:
            submissions.check(form.submission.data, current_user)  # before it warns of its own first case
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, url_for("cases.index"))
        survivor = _details(form, "survivor")
        duplicates = case_ops.possible_duplicates(survivor, name_agencies=policy.may_see_holding_agencies(viewer))
        for found in duplicates:
            audit.record("case.duplicate_check", actor=audit.actor_for(current_user),
                         object_type="case", case_ref=found.reference, sections=("existence",))
        if duplicates and not form.confirm_not_duplicate.data:
            form.confirm_not_duplicate.errors = [
                "A case may already exist for this survivor: check the list, then confirm this is a different person"
            ]
        else:
            try:
                with attempt():
                    submissions.claim(form.submission.data, current_user)
                    case = case_ops.create_case(
                        creator=current_user,
                        survivor=survivor,
                        perpetrators=[_details(form, "perpetrator")],
                        contact=contact_details(form) if contact_allowed else case_ops.ContactDetails(),
                        survivor_profile=survivor_profile(form) if contact_allowed else None,
                        perpetrator_profile=case_ops.PerpetratorProfile(
                            relationship=form.perpetrator_relationship.data or "",
                            address=(form.perpetrator_address.data or "").strip(),
                            weapons_access=form.perpetrator_weapons.data or "",
                        ),
                    )
                    submissions.record_result(form.submission.data,
                                              url_for("cases.show", reference=case.reference))
            except submissions.AlreadySubmitted as error:
                return show_already_submitted(error, url_for("cases.index"))
            flash(f"Case {case.reference} created.", "success")
            return redirect(url_for("cases.show", reference=case.reference))
    page = render_template("cases/new.html", form=form, duplicates=duplicates, contact_allowed=contact_allowed)
    return page, 400 if form.errors else 200


@bp.route("/<reference>")
def show(reference: str) -> str:
    """The case page; what it shows is decided by the gate and logged before rendering."""
    case, sections = access.load_case(
        reference, CASE_PAGE_SECTIONS, also=("workers", "status_history"))
    # Read in the recorded transaction, and only when the gate shows it: the page renders after the commit.
    contact = case.survivor_contact if policy.SECTION_SURVIVOR_CONTACT in sections else None
    viewer = access.current_viewer()
    history = assessment_ops.assessments_of(case)
    latest = assessment_ops.latest_by_side(history)
    events = event_ops.events_of(case)
    referrals = referral_ops.referrals_of(case)
    contact_tasks = contact_ops.tasks_of_case(case.id)
    to_invite = case_ops.agency_choices_to_invite(case)

    def forms_and_chart() -> dict[str, Any]:  # built from what was read, after the commit
        invite = InviteAgencyForm()
        invite.agency.choices = to_invite
        return {"invite_form": invite, "note_form": NoteForm(formdata=None), "status_form": _status_form(case),
                "confirm_form": ConfirmForm(), "chart": charts.risk_history_svg(history)}

    return commit_then_render(
        "cases/show.html", after_commit=forms_and_chart, case=case, sections=sections, contact=contact,
        viewer=viewer, policy=policy,
        history=history, latest=latest, superseded=assessment_ops.superseded_ids(history),
        disagree=assessment_ops.sides_disagree(latest),
        escalation=assessment_ops.escalation(latest.get("survivor")),
        reassess=assessment_ops.reassessment_due(latest, events), level_labels=LEVEL_LABELS,
        events=events, referrals=referrals, earlier_cases=access.earlier_cases_of_repeats(case, referrals),
        alerts=[e for e in events if not event_ops.acknowledged_by(e, viewer.agency_id)]
        if policy.sees_event_alerts(viewer) else [], waiting=any(r.status.value == "waiting" for r in referrals),
        notes=case_ops.notes_of(case, include_confidential=policy.SECTION_CONFIDENTIAL_NOTES in sections),
        actions=action_ops.actions_of_case(case.id, survivor_side=policy.SECTION_SURVIVOR_ACTIONS in sections),
        today=date.today(),
        partner_contact=contact_ops.contact_state(contact_tasks, viewer),
        my_task=next((t for t in contact_tasks if t.agency_id == viewer.agency_id), None),
        worker_side=policy.worker_side_for(viewer),
        sharing=sharing_ops.records_of(case, sections),
    )


def _back(case_reference: str) -> Response:
    return redirect(url_for("cases.show", reference=case_reference))


@bp.route("/<reference>/agencies", methods=["POST"])
def invite_agency(reference: str) -> Page:
    """Involve another agency in the case (recorded in the case and the access log)."""
    case, _ = access.load_case(reference, (policy.SECTION_SUMMARY,), action="case.involve")
    form = InviteAgencyForm()
    form.agency.choices = case_ops.agency_choices_to_invite(case)
    agency = db.session.get(Agency, uuid.UUID(form.agency.data)) if form.validate_on_submit() else None
    if agency is not None:  # one of the choices: an active agency not yet involved
        case_ops.involve_agency(case, agency, by=current_user)
        flash(f"{agency.name} is now involved in {case.reference}.", "success")
        return _back(case.reference)
    already = next((a for a in case.involvements if str(a.agency_id) == form.agency.data), None)
    if already is not None:  # someone else involved it first
        flash(f"{already.agency.name} is already involved in {case.reference}.", "success")
        return _back(case.reference)
    if not form.agency.choices:
        flash(f"Every active agency is already involved in {case.reference}.", "success")
        return _back(case.reference)
    form.agency.choices = [("", "Choose an agency"), *form.agency.choices]
    form.agency.errors = ["Choose an agency to involve"]
    return render_template("cases/one_choice.html", case=case, form=form, choice=form.agency,
                           heading="Involve another agency", button="Involve this agency",
                           action=url_for("cases.invite_agency", reference=case.reference)), 400


@bp.route("/<reference>/notes", methods=["POST"])
def add_note(reference: str) -> Page:
    """Add a note from the case page; if it is refused, the note is shown again on a page of its own."""
    case, sections = access.load_case(reference, (policy.SECTION_NOTES, policy.SECTION_CONFIDENTIAL_NOTES),
                                      action="case.note")
    form = NoteForm()
    confidential_allowed = policy.SECTION_CONFIDENTIAL_NOTES in sections
    if form.validate_on_submit():
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                case_ops.add_note(case, form.text.data or "", by=current_user,
                                  confidential=bool(form.confidential.data) and confidential_allowed)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, url_for("cases.show", reference=case.reference))
        except case_ops.OperationError as error:
            show_operation_error(form, error)
        else:
            flash("Note added.", "success")
            return _back(case.reference)
    page = render_template("cases/add_note.html", case=case, form=form, confidential_allowed=confidential_allowed)
    return page, 400


@bp.route("/<reference>/workers", methods=["POST"])
def assign_me(reference: str) -> Response:
    """Name the signed-in user as the worker for their side of the case."""
    case, _ = access.load_case(reference, (policy.SECTION_SUMMARY,), action="case.worker")
    side = policy.worker_side_for(access.current_viewer())
    if ConfirmForm().validate_on_submit() and side is not None:
        try:
            with attempt():
                case_ops.assign_worker(case, current_user, case_ops.WorkerSide(side), by=current_user)
        except case_ops.OperationError as error:
            flash(error.message, "error")
        else:
            flash(f"You are now the {side}'s worker on {case.reference}.", "success")
    return _back(case.reference)


def _status_form(case: Case) -> StatusForm:
    """The status form, starting at the case's status; a status the form cannot set (referred,
    heard) starts at "Choose a new status", so pressing the button unchanged changes nothing."""
    form = StatusForm(formdata=None, status=case.status.value, shown=case.status.value)
    if case.status.value not in {value for value, _ in form.status.choices}:
        form.status.choices = [("", "Choose a new status"), *form.status.choices]
        form.status.data = ""
    return form


@bp.route("/<reference>/status", methods=["POST"])
def change_status(reference: str) -> Page:
    case, _ = access.load_case(reference, (policy.SECTION_SUMMARY,), action="case.status")
    form = StatusForm()
    if form.validate_on_submit():
        if form.shown.data != case.status.value:
            now = case.status.value.replace("_", " ")
            flash(f"Someone else changed this case's status to {now} since your page was shown: your change has "
                  "not been made. Check the case, then change its status again if you still need to.", "error")
        else:
            case_ops.change_status(case, case_ops.CaseStatus(form.status.data), by=current_user)
            flash("Status changed.", "success")
        return _back(case.reference)
    form.status.choices = [("", "Choose a new status"), *form.status.choices]
    form.status.data, form.status.errors = "", ["Choose a new status from the list"]
    form.shown.data = case.status.value
    return render_template("cases/one_choice.html", case=case, form=form, choice=form.status,
                           heading=f"Change the status of {case.reference}", button="Change status",
                           action=url_for("cases.change_status", reference=case.reference)), 400
