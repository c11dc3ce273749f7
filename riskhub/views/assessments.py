"""Recording and reading risk assessments of either side."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from riskhub import access, policy
from riskhub.assessments import LEVEL_LABELS, SIDES, Template
from riskhub.extensions import db
from riskhub.forms import show_operation_error
from riskhub.forms.assessments import form_class, item_field, source_field
from riskhub.forms.submissions import show_already_submitted
from riskhub.models.assessments import Assessment
from riskhub.operations import ConflictError, OperationError, attempt, submissions
from riskhub.operations import assessments as ops

bp = Blueprint("assessments", __name__, url_prefix="/cases/<reference>/assessments")

DETAIL_SECTION = {"survivor": policy.SECTION_SURVIVOR_ASSESSMENT_DETAIL,
                  "perpetrator": policy.SECTION_PERPETRATOR_ASSESSMENT_DETAIL}


@bp.before_request
def _case_workers_only() -> None:
    access.require(policy.may_work_cases, "assessments.denied")


def _submission(form: Any, template: Template) -> ops.Submission:
    def data(name: str) -> Any:
        return getattr(form, name).data if hasattr(form, name) else None

    return ops.Submission(
        assessed_on=data("assessed_on"),
        answers={i.id: data(item_field(i.id)) for i in template.items},
        sources={i.id: (data(source_field(i.id)) or "").strip() for i in template.items},
        judgement_level=data("judgement_level"), raise_to_high=bool(data("raise_to_high")),
        rationale=data("rationale") or "", police_callouts=data("police_callouts"),
        firearms_access=data("firearms_access"), notes=data("notes") or "",
    )


def _superseded(case_id: uuid.UUID, side: str) -> Assessment | None:
    """The assessment a correction replaces, from ?supersedes= (404 if it is not this case's)."""
    wanted = request.values.get("supersedes")
    if not wanted:
        return None
    try:
        found = db.session.get(Assessment, uuid.UUID(wanted))
    except ValueError:
        abort(404)
    if found is None or found.case_id != case_id or found.side != side:
        abort(404)
    return found


@bp.route("/new/<side>", methods=["GET", "POST"])
def new(reference: str, side: str) -> str | Response | tuple[str, int]:
    """The assessment form for one side, on the current version of that side's form."""
    if side not in SIDES:
        abort(404)
    case, _ = access.load_case(reference, (policy.SECTION_SUMMARY, DETAIL_SECTION[side]), action="assessment.form",
                               permission=(lambda v: policy.may_record_assessment(v, side), "assessment.denied"))
    template = ops.current_form(side)
    supersedes = _superseded(case.id, side)
    form = form_class(template)()
    status = 200
    if form.validate_on_submit():
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                ops.record_assessment(case, template, _submission(form, template), assessor=current_user,
                                      supersedes=supersedes)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, url_for("cases.show", reference=case.reference))
        except ConflictError as error:  # a correction of an assessment already corrected (sent twice, say)
            flash(error.message, "error")
            status = 409
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash("Assessment recorded.", "success")
            return redirect(url_for("cases.show", reference=case.reference))
    page = render_template("assessments/new.html", case=case, form=form, template=template,
                           supersedes=supersedes, item_field=item_field, source_field=source_field)
    return page, 400 if form.errors else status


@bp.route("/<uuid:assessment_id>")
def show(reference: str, assessment_id: uuid.UUID) -> str:
    """One assessment in full; survivor-side detail never crosses the firewall."""
    found = db.session.get(Assessment, assessment_id)
    if found is None:
        abort(404)
    section = DETAIL_SECTION[found.side]
    case, sections = access.load_case(reference, (policy.SECTION_ASSESSMENTS, section), action="assessment.view")
    if found.case_id != case.id:
        abort(404)
    return render_template("assessments/show.html", case=case, assessment=found, template=ops.form_of(found),
                           detail=section in sections, level_labels=LEVEL_LABELS, item_field=item_field)
