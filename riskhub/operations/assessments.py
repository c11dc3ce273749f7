"""Recording risk assessments, comparing the two sides, and saying when to reassess."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError

from riskhub import audit
from riskhub.assessments import LEVEL_RANK, SURVIVOR_SIDE, Catalogue, Template, load_catalogue
from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.assessments import Assessment
from riskhub.models.cases import Case
from riskhub.models.events import EventKind, ProgrammeEvent
from riskhub.operations import ConflictError, OperationError

ALREADY_CORRECTED = ("This assessment has already been corrected, so your correction has not been saved. "
                     "Open the case to see the current assessment, and correct that one if it needs it.")


def catalogue() -> Catalogue:
    """The installed assessment forms (packaged plus instance/assessments/)."""
    extensions = current_app.extensions
    if "riskhub.assessments" not in extensions:
        extra = current_app.config["ASSESSMENT_FORMS_DIR"] or os.path.join(current_app.instance_path, "assessments")
        extensions["riskhub.assessments"] = load_catalogue(extra)
    return extensions["riskhub.assessments"]


def current_form(side: str) -> Template:
    return catalogue().current(side, current_app.config["ASSESSMENT_FORM_KEYS"].get(side))


def form_of(assessment: Assessment) -> Template:
    return catalogue().get(assessment.form_key, assessment.form_version)


@dataclass(frozen=True)
class Submission:
    """A validated assessment as entered (the form checked every answer against the template)."""

    assessed_on: date
    answers: dict[str, str]
    sources: dict[str, str]
    judgement_level: str | None = None  # perpetrator side: the assessor's overall level
    raise_to_high: bool = False
    rationale: str = ""
    police_callouts: int | None = None
    firearms_access: str | None = None
    notes: str = ""


def already_corrected(assessment: Assessment) -> bool:
    """A correction replacing this assessment has been recorded."""
    return db.session.scalar(
        select(Assessment.id).where(Assessment.supersedes_id == assessment.id).limit(1)) is not None


def record_assessment(case: Case, template: Template, submission: Submission, *, assessor: User,
                      supersedes: Assessment | None = None) -> Assessment:
    """Store a new assessment; earlier ones are kept, a correction names the one it replaces."""
    if submission.assessed_on < case.created_at.date():
        raise OperationError("The assessment date cannot be before the case was opened", "assessed_on")
    if submission.assessed_on > date.today():
        raise OperationError("The assessment date cannot be in the future", "assessed_on")
    if submission.raise_to_high and not submission.rationale.strip():
        raise OperationError("Explain why professional judgement puts this case at high risk", "rationale")
    if supersedes is not None and (supersedes.case_id != case.id or supersedes.side != template.side):
        raise OperationError("A correction must replace an assessment of the same side of this case")
    if supersedes is not None and already_corrected(supersedes):
        raise ConflictError(ALREADY_CORRECTED)
    score = template.score(submission.answers)
    if template.method == "count":
        thresholds = current_app.config["RISK_THRESHOLDS"].get(template.key, {})
        form_level = template.band_for(score, thresholds)
    else:
        if submission.judgement_level not in template.levels:
            raise OperationError("Choose the overall level of risk", "judgement_level")
        form_level = submission.judgement_level
    level = "high" if submission.raise_to_high else form_level
    assessment = Assessment(
        case_id=case.id, side=template.side, form_key=template.key, form_version=template.version,
        assessed_on=submission.assessed_on, score=score, form_level=form_level, level=level,
        judgement_raised=submission.raise_to_high and LEVEL_RANK[form_level] < LEVEL_RANK["high"],
        police_callouts=submission.police_callouts, agency_id=assessor.agency_id, assessor_id=assessor.id,
        supersedes_id=supersedes.id if supersedes else None,
    )
    assessment.set_content({
        "answers": submission.answers,
        "sources": {k: v for k, v in submission.sources.items() if v},
        "rationale": submission.rationale.strip(),
        "firearms_access": submission.firearms_access,
        "notes": submission.notes.strip(),
    })
    if supersedes is None:
        db.session.add(assessment)
        db.session.flush()
    else:  # in a savepoint: another request may have corrected the same assessment at the same moment
        try:
            with db.session.begin_nested():
                db.session.add(assessment)
        except IntegrityError:
            raise ConflictError(ALREADY_CORRECTED) from None
    audit.record("assessment.create", actor=audit.actor_for(assessor), object_type="assessment",
                 object_id=assessment.id, case_ref=case.reference,
                 sections=(f"{template.side}_assessment_detail",))
    return assessment


@cache
def _assessments_of_case() -> Select[Assessment]:
    return (select(Assessment).where(Assessment.case_id == bindparam("case_id"))
            .order_by(Assessment.assessed_on, Assessment.created_at))


def assessments_of(case: Case) -> list[Assessment]:
    """Every assessment of a case, oldest first."""
    return list(db.session.scalars(_assessments_of_case(), {"case_id": case.id}))


@cache
def _levels_of_cases() -> Select[Any, Any, str, str, Any]:
    return (select(Assessment.id, Assessment.case_id, Assessment.side, Assessment.level, Assessment.supersedes_id)
            .where(Assessment.case_id.in_(bindparam("case_ids", expanding=True)))
            .order_by(Assessment.assessed_on, Assessment.created_at))


def latest_levels_of_cases(case_ids: list[Any]) -> dict[Any, dict[str, str]]:
    """Each case's latest level from each side (as `latest_by_side` picks them), for several
    cases in one query of the few columns needed: the agenda shows levels, not assessments."""
    rows = db.session.execute(_levels_of_cases(), {"case_ids": case_ids}).all() if case_ids else []
    replaced = {row.supersedes_id for row in rows if row.supersedes_id}  # corrections stay within a case
    found: dict[Any, dict[str, str]] = {case_id: {} for case_id in case_ids}
    for row in rows:
        if row.id not in replaced:
            found[row.case_id][row.side] = row.level
    return found


def superseded_ids(assessments: list[Assessment]) -> set[Any]:
    return {a.supersedes_id for a in assessments if a.supersedes_id}


def latest_by_side(assessments: list[Assessment]) -> dict[str, Assessment]:
    """The newest assessment of each side that no correction has replaced."""
    replaced = superseded_ids(assessments)
    latest: dict[str, Assessment] = {}
    for assessment in assessments:
        if assessment.id not in replaced:
            latest[assessment.side] = assessment
    return latest


def sides_disagree(latest: dict[str, Assessment]) -> bool:
    """The two services' latest assessments put the case at different levels."""
    if len(latest) < 2:
        return False
    ranks = {LEVEL_RANK[a.level] for a in latest.values()}
    return len(ranks) > 1


def escalation(assessment: Assessment | None) -> bool:
    """Police call-outs in the last 12 months at or above the deployment's threshold."""
    threshold = current_app.config["ESCALATION_CALLOUTS"]
    return bool(assessment and assessment.police_callouts is not None and assessment.police_callouts >= threshold)


NEW_INCIDENTS = frozenset({EventKind.DISCLOSURE, EventKind.CONCERNING, EventKind.EXCLUDED})


def reassessment_due(latest: dict[str, Assessment], events: list[ProgrammeEvent],
                     today: date | None = None) -> str | None:
    """Why the survivor-side assessment should be redone, or None. `events` are the case's
    programme events (the case page has them already)."""
    today = today or date.today()
    survivor = latest.get(SURVIVOR_SIDE)
    if survivor is None:
        return "No survivor-side assessment has been recorded yet"
    interval = current_app.config["REASSESS_AFTER_DAYS"]
    if today - survivor.assessed_on > timedelta(days=interval):
        return f"The last survivor-side assessment is more than {interval} days old"
    if any(e.kind in NEW_INCIDENTS and e.occurred_on > survivor.assessed_on for e in events):
        return "A new incident was recorded after the last survivor-side assessment"
    return None
