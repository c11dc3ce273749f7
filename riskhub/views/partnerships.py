"""Partnerships and protocols (set up by admins), their health pages, and partner contact work."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from riskhub import access, audit, policy
from riskhub.extensions import db
from riskhub.forms import show_operation_error
from riskhub.forms.partnerships import CONTACTS, MATRIX, AttemptForm, NoticeForm, PartnershipForm, ProtocolForm
from riskhub.forms.submissions import show_already_submitted
from riskhub.models.accounts import Agency, AgencyKind
from riskhub.models.partnerships import (
    CATEGORY_LABELS,
    LEGAL_BASES,
    MODEL_LABELS,
    Category,
    ContactOutcome,
    CooperationModel,
    FlowDirection,
    PartnerContactTask,
    Partnership,
    Protocol,
    RiskNotice,
)
from riskhub.operations import ConflictError, OperationError, attempt, submissions
from riskhub.operations import partner_contact as contact_ops
from riskhub.operations import partnerships as ops

bp = Blueprint("partnerships", __name__)

Page = str | BaseResponse | tuple[str, int]


def _agencies(kind: AgencyKind | None = None) -> list[Agency]:
    query = select(Agency).where(Agency.active.is_(True)).order_by(Agency.name)
    if kind is not None:
        query = query.where(Agency.kind == kind)
    return list(db.session.scalars(query))


@bp.route("/partnerships")
def index() -> str:
    """Partnerships and protocols; those past their review date are flagged."""
    access.require(lambda v: policy.may_administer(v) or policy.may_work_cases(v) or policy.may_schedule_meetings(v),
                   "partnerships.denied")
    viewer = access.current_viewer()
    partnerships = [p for p in db.session.scalars(select(Partnership).order_by(Partnership.name))
                    if policy.may_see_partnership(viewer, {p.programme_agency_id, *p.service_agency_ids})]
    in_force = ops.protocols_in_force()
    return render_template("partnerships/index.html", partnerships=partnerships, model_labels=MODEL_LABELS,
                           protocols=list(db.session.scalars(select(Protocol).order_by(Protocol.title,
                                                                                     Protocol.version_number))),
                           in_force={p.id for p in in_force}, due={p.id for p in ops.due_for_review()},
                           today_date=date.today(),
                           may_manage=policy.may_manage_partnerships(viewer))


@bp.route("/partnerships/new", methods=["GET", "POST"])
def new_partnership() -> Page:
    access.require(policy.may_manage_partnerships, "partnership.denied")
    form = PartnershipForm()
    form.programme_agency.choices = [(str(a.id), a.name) for a in _agencies(AgencyKind.PERPETRATOR_PROGRAMME)]
    form.services.choices = [(str(a.id), a.name) for a in _agencies(AgencyKind.SURVIVOR_SUPPORT)]
    if form.validate_on_submit():
        plan = ops.PartnershipPlan(
            name=form.name.data or "", programme_agency_id=uuid.UUID(form.programme_agency.data),
            service_agency_ids=frozenset(uuid.UUID(a) for a in form.services.data or []),
            model=CooperationModel(form.model.data), max_days_to_offer=form.max_days_to_offer.data,
            contacts={k: getattr(form, k).data or "" for k in CONTACTS},
            matrix={k: getattr(form, k).data or "" for k in MATRIX},
        )
        try:
            with attempt():
                partnership = ops.create_partnership(plan, by=current_user)
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash(f"Partnership {partnership.name} set up.", "success")
            return redirect(url_for("partnerships.show", partnership_id=partnership.id))
    page = render_template("partnerships/new.html", form=form, contacts=CONTACTS, matrix=MATRIX)
    return page, 400 if form.is_submitted() else 200


def _load(partnership_id: uuid.UUID) -> Partnership:
    partnership = db.session.get(Partnership, partnership_id)
    if partnership is None:
        abort(404)
    members = {partnership.programme_agency_id, *partnership.service_agency_ids}
    if not policy.may_see_partnership(access.current_viewer(), members):
        audit.record("partnership.view", actor=audit.actor_for(current_user), outcome=audit.DENIED,
                     object_type="partnership", object_id=partnership.id)
        abort(403)
    return partnership


@bp.route("/partnerships/<uuid:partnership_id>")
def show(partnership_id: uuid.UUID) -> str:
    """The partnership, its responsibilities and how well it is working."""
    partnership = _load(partnership_id)
    audit.record("partnership.view", actor=audit.actor_for(current_user), object_type="partnership",
                 object_id=partnership.id)
    return render_template("partnerships/show.html", partnership=partnership, health=contact_ops.health_of(partnership),
                           model_labels=MODEL_LABELS, contacts=CONTACTS, matrix=MATRIX,
                           contact_figures=policy.may_see_partner_contact_figures(access.current_viewer()))


@bp.route("/partnerships/<uuid:partnership_id>/health.csv")
def health_csv(partnership_id: uuid.UUID) -> Response:
    partnership = _load(partnership_id)
    health = contact_ops.health_of(partnership)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["measure", "value"])
    contact_figures = [
        ("offered contact", health.offered), ("reached (accepted support)", health.reached),
        ("share offered", f"{health.share_offered:.2f}"), ("share reached", f"{health.share_reached:.2f}"),
        ("median days from enrolment to first offer", health.median_days_to_offer),
        ("worst days from enrolment to first offer", health.worst_days_to_offer),
        ("past due without an offer", health.overdue_without_offer),
    ] if policy.may_see_partner_contact_figures(access.current_viewer()) else []
    for measure, value in [
        ("partner contact tasks", health.tasks), *contact_figures,
        ("programme events shared", health.events_shared), ("events acknowledged", health.events_acknowledged),
        ("median hours to acknowledge", health.median_hours_to_acknowledge),
        ("protocols due for review", len(health.protocols_due)),
    ]:
        writer.writerow([measure, "" if value is None else value])
    audit.record("partnership.export", actor=audit.actor_for(current_user), object_type="partnership",
                 object_id=partnership.id)
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="partnership-health-{date.today()}.csv"'
    return response


@bp.route("/protocols/new", methods=["GET", "POST"])
def new_protocol() -> Page:
    """A protocol, or (with ?supersedes=) a new version of one."""
    access.require(policy.may_manage_partnerships, "protocol.denied")
    supersedes = None
    if request.values.get("supersedes"):
        try:
            supersedes = db.session.get(Protocol, uuid.UUID(request.values["supersedes"]))
        except ValueError:
            supersedes = None
        if supersedes is None:
            abort(404)
    form = ProtocolForm()
    form.parties.choices = [(str(a.id), a.name) for a in _agencies()]
    if not form.is_submitted() and supersedes is not None:
        form.title.data, form.legal_basis.data = supersedes.title, supersedes.legal_basis
        form.parties.data = [str(a) for a in supersedes.party_agency_ids]
        form.flows.data = [f"{f.category.value}|{f.direction.value}" for f in supersedes.flows]
        for key in ("signatories", "consent_rules", "escalation"):
            getattr(form, key).data = supersedes.terms.get(key, "")
    if form.validate_on_submit():
        flows = frozenset((Category(c), FlowDirection(d)) for c, d in (v.split("|") for v in form.flows.data or []))
        plan = ops.ProtocolPlan(
            title=form.title.data or "", party_agency_ids=frozenset(uuid.UUID(a) for a in form.parties.data or []),
            effective_from=form.effective_from.data, review_on=form.review_on.data, legal_basis=form.legal_basis.data,
            flows=flows, terms={k: getattr(form, k).data or "" for k in ("signatories", "consent_rules", "escalation")},
        )
        done = url_for("partnerships.index")
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                protocol = ops.create_protocol(plan, by=current_user, supersedes=supersedes)
                submissions.record_result(form.submission.data, done)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, done)
        except ConflictError as error:  # a version already superseded (the form sent twice, say)
            flash(error.message, "error")
            return render_template("partnerships/protocol_form.html", form=form, supersedes=supersedes), 409
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash(f"Protocol {protocol.title} (version {protocol.version_number}) recorded.", "success")
            return redirect(done)
    page = render_template("partnerships/protocol_form.html", form=form, supersedes=supersedes)
    return page, 400 if form.is_submitted() else 200


@bp.route("/protocols/<uuid:protocol_id>")
def protocol(protocol_id: uuid.UUID) -> str:
    access.require(lambda v: policy.may_administer(v) or policy.may_work_cases(v) or policy.may_schedule_meetings(v),
                   "protocol.denied")
    found = db.session.get(Protocol, protocol_id)
    if found is None:
        abort(404)
    return render_template("partnerships/protocol.html", protocol=found, category_labels=CATEGORY_LABELS,
                           legal_bases=LEGAL_BASES, in_force=found in ops.protocols_in_force(),
                           may_manage=policy.may_manage_partnerships(access.current_viewer()))


@bp.route("/partner-contact")
def tasks() -> str:
    """The survivor service's partner-contact tasks and the risk notices to pass on."""
    access.require(policy.may_do_partner_contact, "partner_contact.denied")
    rows = contact_ops.tasks_for_agency(current_user.agency_id)
    for reference in sorted({t.case.reference for t in rows}):
        audit.record("partner_contact.list", actor=audit.actor_for(current_user), object_type="case",
                     case_ref=reference, sections=("partner_contact",))
    return render_template("partnerships/tasks.html", tasks=rows, today=date.today(),
                           notices=contact_ops.open_notices_for_agency(current_user.agency_id))


def _task(task_id: uuid.UUID) -> PartnerContactTask:
    access.require(policy.may_do_partner_contact, "partner_contact.denied")
    task = db.session.get(PartnerContactTask, task_id)
    if task is None:
        abort(404)
    if task.agency_id != current_user.agency_id:
        audit.record("partner_contact.view", actor=audit.actor_for(current_user), outcome=audit.DENIED,
                     object_type="partner_contact_task", object_id=task.id, case_ref=task.case.reference)
        abort(403)
    return task


@bp.route("/partner-contact/<uuid:task_id>", methods=["GET", "POST"])
def task(task_id: uuid.UUID) -> Page:
    found = _task(task_id)
    form = AttemptForm()
    if form.validate_on_submit():
        done = url_for("partnerships.task", task_id=found.id)
        try:
            with attempt():
                submissions.claim(form.submission.data, current_user)
                contact_ops.record_attempt(found, ContactOutcome(form.outcome.data), form.on.data,
                                           support=form.support.data or "",
                                           safety_planning=form.safety_planning.data or "", by=current_user)
                submissions.record_result(form.submission.data, done)
        except submissions.AlreadySubmitted as error:
            return show_already_submitted(error, done)
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash("Attempt recorded.", "success")
            return redirect(done)
    return _task_page(found, form), 400 if form.is_submitted() else 200


def _task_page(found: PartnerContactTask, form: AttemptForm, notice_form: NoticeForm | None = None,
               notice_id: uuid.UUID | None = None) -> str:
    """The task page (a recorded view); `notice_form` is a refused answer to notice `notice_id`,
    shown again under that notice with its errors and what was typed."""
    audit.record("partner_contact.view", actor=audit.actor_for(current_user), object_type="partner_contact_task",
                 object_id=found.id, case_ref=found.case.reference, sections=("partner_contact",))
    notices = list(db.session.scalars(select(RiskNotice).where(RiskNotice.task_id == found.id)
                                      .order_by(RiskNotice.created_at)))
    if notice_form is None:
        notice_form = NoticeForm(formdata=None)
    else:  # the error summary links to the fields under that notice
        notice_form.informed.id, notice_form.reason.id = f"informed-{notice_id}", f"reason-{notice_id}"
    return render_template("partnerships/task.html", task=found, form=form, notices=notices,
                           notice_form=notice_form, refused_notice_id=notice_id, today=date.today())


@bp.route("/partner-contact/notices/<uuid:notice_id>", methods=["POST"])
def resolve(notice_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    notice = db.session.get(RiskNotice, notice_id)
    if notice is None:
        abort(404)
    found = _task(notice.task_id)
    form = NoticeForm()
    if form.validate_on_submit():
        try:
            with attempt():
                contact_ops.resolve_notice(notice, informed=form.informed.data == "yes",
                                           reason=form.reason.data or "", by=current_user)
        except OperationError as error:
            show_operation_error(form, error)
        else:
            flash("Recorded.", "success")
            return redirect(url_for("partnerships.task", task_id=found.id))
    return _task_page(found, AttemptForm(formdata=None), form, notice.id), 400
