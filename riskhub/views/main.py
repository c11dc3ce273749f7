"""The dashboard and the health check."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, jsonify
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from riskhub import audit, policy
from riskhub.access import case_count_for_viewer, current_viewer
from riskhub.extensions import db
from riskhub.lifecycle import commit_then_render
from riskhub.operations import actions as action_ops
from riskhub.operations import events as event_ops
from riskhub.operations import partnerships as partnership_ops

bp = Blueprint("main", __name__)


@bp.route("/")
def dashboard() -> str:
    """What the signed-in user can do next, by role."""
    viewer = current_viewer()
    alerts = event_ops.open_alerts_for(viewer.agency_id) if policy.sees_event_alerts(viewer) else []
    actor = audit.actor_for(current_user)
    for reference in sorted({reference for reference, _ in alerts}):
        audit.record("case.alerts", actor=actor, object_type="case", case_ref=reference,
                     sections=(policy.SECTION_EVENTS,))
    today = date.today()
    survivor_side = policy.may_see_survivor_actions(viewer)
    mine = (action_ops.open_counts(today=today, user=current_user, survivor_side=survivor_side)
            if policy.may_work_cases(viewer) else None)
    return commit_then_render(
        "main/dashboard.html",
        alerts=alerts,
        my_actions=mine.open if mine else 0, my_overdue=mine.overdue if mine else 0,
        protocols_due=partnership_ops.due_for_review(today)
        if policy.may_administer(viewer) or policy.may_schedule_meetings(viewer) else [],
        case_count=case_count_for_viewer(),
        may_work_cases=policy.may_work_cases(viewer),
        may_administer=policy.may_administer(viewer),
        may_review_audit=policy.may_review_audit(viewer),
    )


@bp.route("/health")
def health() -> tuple[Response, int]:
    """For load balancers: the database answers. Carries no data."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok"), 200
