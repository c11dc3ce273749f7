"""The auditor's workspace: the access log, who saw a case, a user's activity, review queues, CSV.

Auditors see the log and staff names, never case content. Every page they open is itself
logged. Searches are bounded (date range cap, keyset pages, a statement timeout on
PostgreSQL), so no filter can tie up the server.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from riskhub import access, audit, policy
from riskhub.extensions import db
from riskhub.forms import show_operation_error
from riskhub.forms.audit import AuditSearchForm, EmergencyReviewForm
from riskhub.models.accounts import Agency, User
from riskhub.models.base import as_utc
from riskhub.models.cases import Case, EmergencyAccess
from riskhub.operations import OperationError, accounts
from riskhub.operations import audit_reviews as reviews
from riskhub.operations import audit_search as search_ops
from riskhub.operations import sharing as sharing_ops

bp = Blueprint("audit", __name__, url_prefix="/audit")

Page = str | Response | tuple[str, int]
TOO_SLOW = "This search would take too long: narrow it with a shorter date range, a user, an agency or a case"


@bp.before_request
def _auditors_only() -> None:
    viewer = access.require(policy.may_review_audit, "audit.denied")
    g.audit_agency_scope = policy.audit_scope(viewer)  # every query of the log below keeps to it
    search_ops.limit_query_time()


def _refuse_outside_scope(agency_id: uuid.UUID | None, action: str, **facts: Any) -> None:
    """403 (logged) for a user or grant of another agency than an agency-scoped auditor's own."""
    scope = search_ops.agency_scope()
    if scope is not None and agency_id != scope:
        _log(action, outcome=audit.DENIED, **facts)
        abort(403)


@bp.app_template_filter("local_time")
def _local_time(moment: Any) -> str:
    return search_ops.local(moment)


def _log(action: str, **facts: Any) -> None:
    audit.record(action, actor=audit.actor_for(current_user), **facts)


def _before() -> int | None:
    """The entry number the keyset cursor in the query string stands for; a cursor the pages did
    not make is a 400, not a 500."""
    value = request.args.get("before", "")
    if not value:
        return None
    number = search_ops.cursor_seq(value)
    if number is None:
        abort(400)
    return number


@bp.route("/")
def index() -> str:
    """The auditor's dashboard: chain status, queues, and the search form."""
    _log("audit.dashboard", object_type="audit_log")
    # An agency-scoped auditor is not told how much the rest of the log holds: the chain's
    # verdict, not its entry count or numbers.
    return render_template("audit/index.html", status=reviews.chain_status(), form=_search_form(),
                           pending=reviews.pending_emergency_count())


def _scope_name() -> str | None:
    """The name of the agency an agency-scoped auditor reviews, for the pages to say so."""
    scope = search_ops.agency_scope()
    if scope is None:
        return None
    if "audit_scope_name" not in g:  # read once per request: the form and the page both use it
        g.audit_scope_name = db.session.scalar(select(Agency.name).where(Agency.id == scope))
    name: str | None = g.audit_scope_name
    return name


@bp.context_processor
def _scope_for_pages() -> dict[str, Any]:
    # An agency-scoped auditor is shown no entry numbers or counts of the whole log (`whole_log`).
    return {"audit_scope_name": _scope_name(), "whole_log": search_ops.agency_scope() is None}


def _search_form() -> AuditSearchForm:
    form = AuditSearchForm(formdata=request.args if request.args else None)
    scope = _scope_name()
    if scope is not None:  # their own agency's staff only: nothing else to choose
        form.agency.choices = [("", scope)]
    else:
        form.agency.choices = [("", "Any agency")] + [
            (str(a.id), a.name) for a in db.session.scalars(select(Agency).order_by(Agency.name))]
    return form


def _filters(form: AuditSearchForm) -> search_ops.Filters | None:
    """Validate the search; None (with messages on the form) when something is wrong."""
    if not form.validate():
        return None
    user = None
    if form.user.data:
        user = accounts.find_user_by_email(form.user.data)
        if user is None:
            form.user.errors = ["No user has that email address: check it and try again"]
            return None
    first, last = form.date_from.parsed, form.date_to.parsed
    if first and last and last < first:
        form.date_to.errors = ["To date must be the same as or after the from date"]
        return None
    span = int(current_app.config["AUDIT_MAX_RANGE_DAYS"])
    if first and last and (last - first).days + 1 > span:
        form.date_to.errors = [f"Choose dates no more than {span} days apart"]
        return None
    since, until = search_ops.day_bounds(first, last)
    return search_ops.Filters(
        user_id=user.id if user else None, agency_id=uuid.UUID(form.agency.data) if form.agency.data else None,
        case_ref=(form.case_ref.data or "").strip().upper() or None, action=(form.action.data or "").strip() or None,
        outcome=form.outcome.data or None, since=since, until=until)


SEARCH_FIELDS = ("user", "agency", "case_ref", "action", "outcome", "date_from", "date_to")


def _query_args(before: str | None = None) -> dict[str, Any]:
    """The search's own filters, for its next-page and export links (nothing else that was sent)."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k in SEARCH_FIELDS and v}
    if before:
        args["before"] = before
    return args


@bp.route("/search")
def search() -> Page:
    """Search the log by user, agency, case, action, outcome and dates; newest first, paged."""
    form = _search_form()
    filters = _filters(form)
    if filters is None:
        return render_template("audit/search.html", form=form, page=None), 400
    try:
        page = search_ops.search(filters, _before())
    except OperationalError:
        return _too_slow(form)
    _log("audit.search", object_type="user" if filters.user_id else "audit_log", object_id=filters.user_id,
         case_ref=filters.case_ref, purpose=filters.describe())
    return render_template("audit/search.html", form=form, page=page, query_args=_query_args,
                           export_url=url_for("audit.export", **_query_args(request.args.get("before"))))


def _too_slow(form: AuditSearchForm) -> tuple[str, int]:
    db.session.rollback()
    audit.replay_request_entries()
    form.date_from.errors = [TOO_SLOW]
    return render_template("audit/search.html", form=form, page=None), 400


@bp.route("/export")
def export() -> Page:
    """Download the search as CSV, at most AUDIT_EXPORT_MAX_ROWS entries per file; logged."""
    form = _search_form()
    filters = _filters(form)
    if filters is None:
        return render_template("audit/search.html", form=form, page=None), 400
    try:
        body, entries, next_before = search_ops.export_part(filters, _before())
    except OperationalError:
        return _too_slow(form)
    # Named by the times it spans: entry numbers would tell an agency's auditor how busy the rest of the log was.
    span = f"{_stamp(entries[-1].at)}-{_stamp(entries[0].at)}" if entries else "none"
    _log("audit.export", object_type="user" if filters.user_id else "audit_log", object_id=filters.user_id,
         case_ref=filters.case_ref, purpose=f"csv {len(entries)} entries {span}; {filters.describe()}"[:200])
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="access-log-{span}.csv"'
    if next_before:
        response.headers["X-Next-Part"] = url_for("audit.export", **_query_args(next_before))
    return response


def _stamp(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y%m%dT%H%M%SZ")


@bp.route("/cases/<reference>")
def case_timeline(reference: str) -> Page:
    """Who saw this case, when, which sections, and why; plus its sharing records and emergency grants."""
    reference = reference.strip().upper()
    if len(reference) > 20:
        abort(404)
    case = db.session.scalar(select(Case).where(Case.reference == reference))
    scope = search_ops.agency_scope()
    if case is not None and scope is not None and scope not in case.agency_ids:
        case = None  # which agencies hold a case not theirs (a refuge, say) is not for a programme's auditor
    page = search_ops.search(search_ops.Filters(case_ref=reference), _before())
    if case is None and not page.entries:
        abort(404)
    # Survivor-side sharing records (a refuge or a move among them) follow the firewall here too.
    shown = policy.visible_sections(access.current_viewer(), (policy.SECTION_SHARING, policy.SECTION_SURVIVOR_SHARING))
    _log("audit.case_timeline", object_type="case", object_id=case.id if case else None, case_ref=reference,
         sections=shown if case else ())
    grants = list(db.session.scalars(reviews.grants_in_scope(select(EmergencyAccess))
                                     .where(EmergencyAccess.case_id == case.id)
                                     .order_by(EmergencyAccess.granted_at.desc()))) if case else []
    return render_template("audit/case.html", reference=reference, case=case, page=page, grants=grants,
                           names=search_ops.user_names(g.user_id for g in grants),
                           sharing=sharing_ops.records_of(case, shown) if case else [])


@bp.route("/users/<uuid:user_id>")
def user_activity(user_id: uuid.UUID) -> Page:
    """Everything one user did, newest first."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    _refuse_outside_scope(user.agency_id, "audit.user_activity", object_type="user", object_id=user.id)
    _log("audit.user_activity", object_type="user", object_id=user.id)
    page = search_ops.search(search_ops.Filters(user_id=user.id), _before())
    return render_template("audit/user.html", user=user, page=page)


@bp.route("/reviews/emergency")
def emergency_queue() -> str:
    """Emergency access grants; those awaiting a decision first."""
    _log("audit.review_queue", object_type="audit_log", purpose="emergency access")
    grants = reviews.emergency_grants()
    cases = dict(db.session.execute(select(Case.id, Case.reference).where(
        Case.id.in_({g.case_id for g in grants}))).all()) if grants else {}
    return render_template("audit/emergency.html", grants=grants, cases=cases,
                           names=search_ops.user_names(g.user_id for g in grants))


@bp.route("/reviews/emergency/<uuid:grant_id>", methods=["GET", "POST"])
def emergency_review(grant_id: uuid.UUID) -> Page:
    """One grant: the reason given, what was done with it, and the auditor's decision."""
    grant = db.session.get(EmergencyAccess, grant_id)
    if grant is None:
        abort(404)
    _refuse_outside_scope(db.session.scalar(select(User.agency_id).where(User.id == grant.user_id)),
                          "audit.emergency_view", object_type="emergency_access", object_id=grant.id)
    reference = db.session.scalar(select(Case.reference).where(Case.id == grant.case_id)) or ""
    form = EmergencyReviewForm()
    if form.validate_on_submit():
        try:
            reviews.review_emergency_access(grant, form.outcome.data or "", form.note.data or "", reviewer=current_user)
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash(f"Decision recorded for emergency access to {reference}.", "success")
            return redirect(url_for("audit.emergency_queue"))
    _log("audit.emergency_view", object_type="emergency_access", object_id=grant.id, case_ref=reference,
         purpose="reason read for review")
    names = search_ops.user_names(u for u in (grant.user_id, grant.reviewer_id) if u)
    page = render_template("audit/emergency_review.html", grant=grant, reference=reference, form=form, names=names,
                           activity=reviews.grant_activity(grant, reference))
    return page, 400 if form.errors else 200


QUEUES = {
    "denied": ("Denied attempts", reviews.denied),
    "outsiders": ("Access by agencies not involved in the case", reviews.outsiders),
    "out-of-hours": ("Access outside working hours", reviews.out_of_hours),
}


@bp.route("/reviews/<queue>")
def review_queue(queue: str) -> Page:
    """A queue of entries to review, newest first, over the review period."""
    if queue not in QUEUES:
        abort(404)
    title, find = QUEUES[queue]
    try:
        page = find(_before())
    except OperationalError:
        db.session.rollback()
        audit.replay_request_entries()
        return render_template("audit/queue.html", title=title, queue=queue, page=None, error=TOO_SLOW), 400
    _log("audit.review_queue", object_type="audit_log", purpose=queue)
    return render_template("audit/queue.html", title=title, queue=queue, page=page, error=None)


@bp.route("/reviews/bulk")
def bulk_queue() -> str:
    """Users who opened more than AUDIT_BULK_CASES cases within AUDIT_BULK_MINUTES."""
    _log("audit.review_queue", object_type="audit_log", purpose="bulk")
    return render_template("audit/bulk.html", found=reviews.bulk_access())
