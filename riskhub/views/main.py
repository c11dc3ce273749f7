"""The dashboard and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text
from werkzeug.wrappers import Response

from riskhub import policy
from riskhub.access import cases_for_viewer, current_viewer
from riskhub.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
def dashboard() -> str:
    """What the signed-in user can do next, by role."""
    viewer = current_viewer()
    return render_template(
        "main/dashboard.html",
        cases=cases_for_viewer(),
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
