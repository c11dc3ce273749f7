"""Calendar export: one meeting's .ics, and a personal feed behind a revocable token."""

from __future__ import annotations

import hashlib
import secrets

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select, update
from werkzeug.wrappers import Response as BaseResponse

from riskhub import access, audit, policy
from riskhub.calendars import meetings_calendar
from riskhub.extensions import db
from riskhub.forms import ConfirmForm
from riskhub.models.accounts import User
from riskhub.models.base import utcnow
from riskhub.models.meetings import CalendarFeed
from riskhub.operations import meetings as meeting_ops
from riskhub.views.meetings import load_meeting

bp = Blueprint("calendar", __name__)

ICS = "text/calendar"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype=ICS)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/meetings/<reference>/calendar.ics")
def meeting_ics(reference: str) -> Response:
    meeting = load_meeting(reference)
    audit.record("calendar.download", actor=audit.actor_for(current_user), object_type="meeting",
                 object_id=meeting.id)
    return _ics(meetings_calendar([meeting]), f"{meeting.reference}.ics")


def _meetings_for(user: User) -> list:
    viewer = policy.Viewer(user.id, user.agency_id, user.agency.kind, user.roles)
    agency = None if policy.may_schedule_meetings(viewer) else user.agency_id
    return meeting_ops.upcoming_meetings(agency)


@bp.route("/calendar")
def feed_page() -> str:
    access.require(lambda v: policy.may_work_cases(v) or policy.may_schedule_meetings(v), "calendar.denied")
    live = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == current_user.id,
                                                        CalendarFeed.revoked_at.is_(None)))
    return render_template("meetings/calendar.html", feed=live, confirm_form=ConfirmForm(), new_url=None)


def _revoke_all(user_id: object) -> None:
    db.session.execute(update(CalendarFeed).where(CalendarFeed.user_id == user_id, CalendarFeed.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


@bp.route("/calendar/feed", methods=["POST"])
def new_feed() -> str | BaseResponse:
    """Issue a new feed link (the old one stops working). The link is shown once."""
    access.require(lambda v: policy.may_work_cases(v) or policy.may_schedule_meetings(v), "calendar.denied")
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("calendar.feed_page"))
    _revoke_all(current_user.id)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=current_user.id, token_hash=_hash(token))
    db.session.add(feed)
    audit.record("calendar.feed.create", actor=audit.actor_for(current_user), object_type="calendar_feed",
                 object_id=feed.id)
    url = url_for("calendar.feed", token=token, _external=True)
    return render_template("meetings/calendar.html", feed=feed, confirm_form=ConfirmForm(), new_url=url)


@bp.route("/calendar/feed/revoke", methods=["POST"])
def revoke_feed() -> BaseResponse:
    access.require(lambda v: policy.may_work_cases(v) or policy.may_schedule_meetings(v), "calendar.denied")
    if ConfirmForm().validate_on_submit():
        _revoke_all(current_user.id)
        audit.record("calendar.feed.revoke", actor=audit.actor_for(current_user), object_type="user",
                     object_id=current_user.id)
        flash("Your calendar feed link no longer works.", "success")
    return redirect(url_for("calendar.feed_page"))


@bp.route("/calendar/<token>.ics")
def feed(token: str) -> Response:
    """Public by design (calendar programs cannot sign in): the token is the key; each fetch is logged."""
    row = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token),
                                                       CalendarFeed.revoked_at.is_(None)))
    if row is None:
        abort(404)
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        abort(404)
    audit.record("calendar.feed.fetch", actor=audit.actor_for(user), object_type="calendar_feed", object_id=row.id)
    return _ics(meetings_calendar(_meetings_for(user), "My joint risk meetings"), "riskhub.ics")
