"""Minutes of closed meetings: a print-friendly page and a PDF, each copy recorded."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user

from riskhub import access, audit, policy
from riskhub.extensions import db
from riskhub.minutes import RESTRICTED, minutes_for, minutes_pdf
from riskhub.models.meetings import Meeting, MinutesDistribution
from riskhub.views.meetings import load_meeting

bp = Blueprint("minutes", __name__)


@bp.before_request
def _meeting_users_only() -> None:
    access.require(lambda v: policy.may_work_cases(v) or policy.may_schedule_meetings(v), "meetings.denied")


def _copy_for_reader(reference: str, fmt: str) -> tuple[Meeting, object]:
    """Load the closed meeting, build this reader's copy, record its distribution and views."""
    meeting = load_meeting(reference)
    if not meeting.closed:
        abort(404)
    copy = minutes_for(meeting, access.current_viewer())
    db.session.add(MinutesDistribution(meeting_id=meeting.id, agency_id=current_user.agency_id,
                                       user_id=current_user.id, format=fmt))
    actor = audit.actor_for(current_user)
    for case in copy.cases:
        audit.record(f"minutes.{fmt}", actor=actor, object_type="meeting", object_id=meeting.id,
                     case_ref=case.reference, sections=copy.sections)
    return meeting, copy


@bp.route("/meetings/<reference>/minutes")
def show(reference: str) -> str:
    meeting, copy = _copy_for_reader(reference, "html")
    return render_template("meetings/minutes.html", meeting=meeting, copy=copy, restricted=RESTRICTED)


@bp.route("/meetings/<reference>/minutes.pdf")
def pdf(reference: str) -> Response:
    meeting, copy = _copy_for_reader(reference, "pdf")
    response = Response(minutes_pdf(copy), mimetype="application/pdf")  # type: ignore[arg-type]
    response.headers["Content-Disposition"] = f'attachment; filename="minutes-{meeting.reference}.pdf"'
    return response
