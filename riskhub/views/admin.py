"""Administration: agencies, users, roles, deactivation, password resets, ending sessions."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from riskhub import access, audit, policy
from riskhub.extensions import db
from riskhub.forms import ConfirmForm
from riskhub.forms.admin import AgencyForm, PasswordResetForm, RolesForm, UserForm
from riskhub.models.accounts import Agency, AgencyKind, Role, User, with_roles
from riskhub.operations import ConflictError, OperationError, accounts, attempt
from riskhub.views import whole_number

bp = Blueprint("admin", __name__, url_prefix="/admin")

OWN_AGENCY = "You cannot deactivate your own agency: you would be signed out. Ask an admin from another agency"

Page = str | Response | tuple[str, int]


@bp.before_request
def _admins_only() -> None:
    viewer = access.require(policy.may_administer, "admin.denied")
    g.admin_scope = policy.admin_scope(viewer)


def _agencies_only() -> None:
    access.require(policy.may_manage_agencies, "admin.agency.denied")


def _in_scope(agency_id: uuid.UUID) -> bool:
    """Whether the request's admin manages the accounts of this agency's staff."""
    return g.admin_scope is None or agency_id == g.admin_scope


def _actor() -> audit.Actor:
    return audit.actor_for(current_user)


def _get_agency(agency_id: uuid.UUID) -> Agency:
    """Load an agency or abort 404."""
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    return agency


def _get_user(user_id: uuid.UUID) -> User:
    """Load a user the admin manages, or abort 404 (a user of another agency: the denial logged)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not _in_scope(user.agency_id):
        audit.record("admin.user.denied", actor=_actor(), outcome=audit.DENIED, object_type="user", object_id=user.id)
        abort(404)
    return user


def _agencies() -> list[Agency]:
    """The agencies the admin manages accounts in, by name."""
    query = select(Agency).order_by(Agency.name)
    if g.admin_scope is not None:
        query = query.where(Agency.id == g.admin_scope)
    return list(db.session.scalars(query))


def _version(form: AgencyForm | RolesForm | PasswordResetForm) -> int | None:
    return whole_number(form.version.data)


def _show_error(form: object, error: OperationError) -> None:
    target = getattr(form, error.field or "", None)
    if target is not None:
        target.errors = [*target.errors, error.message]
    else:
        flash(error.message, "error")


@bp.route("/")
def index() -> str:
    return render_template("admin/index.html", agencies=_agencies(),
                           may_manage_agencies=policy.may_manage_agencies(access.current_viewer()))


@bp.route("/agencies/new", methods=["GET", "POST"])
def new_agency() -> Page:
    _agencies_only()
    form = AgencyForm()
    if form.validate_on_submit():
        try:
            with attempt():
                agency = accounts.create_agency(form.name.data or "", AgencyKind(form.kind.data), actor=_actor())
        except OperationError as error:
            _show_error(form, error)
        else:
            flash(f"Agency {agency.name} added.", "success")
            return redirect(url_for("admin.index"))
    return render_template("admin/agency_form.html", form=form, agency=None), 400 if form.errors else 200


@bp.route("/agencies/<uuid:agency_id>/edit", methods=["GET", "POST"])
def edit_agency(agency_id: uuid.UUID) -> Page:
    _agencies_only()
    agency = _get_agency(agency_id)
    form = AgencyForm(obj=agency)
    valid = form.validate_on_submit()
    if valid and not form.active.data and agency.id == current_user.agency_id:
        form.active.errors = [*form.active.errors, OWN_AGENCY]
    elif valid:
        try:
            with attempt():
                accounts.update_agency(agency, name=form.name.data or "", kind=AgencyKind(form.kind.data),
                                       active=bool(form.active.data), actor=_actor(), version=_version(form))
        except ConflictError as error:
            flash(error.message, "error")
            form.version.data = agency.version  # saving again after review is a deliberate overwrite
            return render_template("admin/agency_form.html", form=form, agency=agency, conflict=True), 409
        except OperationError as error:
            _show_error(form, error)
        else:
            flash(f"Agency {agency.name} updated.", "success")
            return redirect(url_for("admin.index"))
    if not form.is_submitted():
        form.kind.data = agency.kind.value
    return render_template("admin/agency_form.html", form=form, agency=agency), 400 if form.errors else 200


@bp.route("/users")
def users() -> str:
    query = select(User).options(with_roles())
    if g.admin_scope is not None:
        query = query.where(User.agency_id == g.admin_scope)
    people = list(db.session.scalars(query))
    people.sort(key=lambda u: ((u.agency.name or "").lower(), (u.name or "").lower()))
    return render_template("admin/users.html", users=people)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> Page:
    form = UserForm()
    form.agency.choices = [("", "Choose an agency"), *((str(a.id), a.name) for a in _agencies() if a.active)]
    if form.validate_on_submit():
        agency = _get_agency(uuid.UUID(form.agency.data))
        try:
            with attempt():
                user = accounts.create_user(
                    agency=agency, email=form.email.data or "", name=form.name.data or "",
                    roles={Role(r) for r in form.roles.data or []}, password=form.password.data or "",
                    actor=_actor(), must_change_password=True,
                )
        except OperationError as error:
            _show_error(form, error)
        else:
            flash(f"User {user.name} added. They choose their own password when they first sign in.", "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_form.html", form=form), 400 if form.errors else 200


def _user_page(user: User, roles_form: RolesForm | None = None,
               password_form: PasswordResetForm | None = None, conflict: str | None = None) -> Page:
    # formdata=None: the form not submitted shows the stored values, not the other form's POST.
    roles_form = roles_form or RolesForm(formdata=None, roles=sorted(r.value for r in user.roles),
                                         version=user.version)
    password_form = password_form or PasswordResetForm(formdata=None, version=user.version)
    failed = roles_form if roles_form.errors else password_form if password_form.errors else None
    return render_template(
        "admin/user.html", user=user, roles_form=roles_form, password_form=password_form,
        confirm_form=ConfirmForm(), sessions=accounts.live_session_count(user), form=failed, conflict=conflict,
    ), 409 if conflict else 400 if failed else 200


@bp.route("/users/<uuid:user_id>")
def user(user_id: uuid.UUID) -> Page:
    return _user_page(_get_user(user_id))


@bp.route("/users/<uuid:user_id>/roles", methods=["POST"])
def user_roles(user_id: uuid.UUID) -> Page:
    person = _get_user(user_id)
    form = RolesForm()
    if not form.validate_on_submit():
        return _user_page(person, roles_form=form)
    try:
        with attempt():
            accounts.set_user_roles(person, {Role(r) for r in form.roles.data or []}, actor=_actor(),
                                    version=_version(form))
    except ConflictError as error:
        flash(error.message, "error")
        form.version.data = person.version  # saving again after review is a deliberate overwrite
        return _user_page(person, roles_form=form, conflict="roles")
    except OperationError as error:
        _show_error(form, error)
        return _user_page(person, roles_form=form)
    flash("Roles updated.", "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/users/<uuid:user_id>/password", methods=["POST"])
def user_password(user_id: uuid.UUID) -> Page:
    person = _get_user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            with attempt():
                accounts.reset_password(person, form.password.data or "", actor=_actor(), version=_version(form))
        except ConflictError:
            form.version.data = str(person.version)  # pressed again, it resets on the current copy
            return _user_page(person, password_form=form, conflict="password")
        except OperationError as error:
            _show_error(form, error)
        else:
            flash("Password reset. Their sessions have ended; tell them the new password in person. They choose "
                  "their own when they next sign in.", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return _user_page(person, password_form=form)


@bp.route("/users/<uuid:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id: uuid.UUID) -> Response:
    person = _get_user(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            with attempt():
                accounts.set_user_active(person, False, actor=_actor())
        except OperationError as error:
            flash(error.message, "error")
        else:
            flash(f"{person.name} can no longer sign in; their sessions have ended.", "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/users/<uuid:user_id>/reactivate", methods=["POST"])
def reactivate_user(user_id: uuid.UUID) -> Response:
    person = _get_user(user_id)
    if ConfirmForm().validate_on_submit():
        accounts.set_user_active(person, True, actor=_actor())
        flash(f"{person.name} can sign in again.", "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/users/<uuid:user_id>/end-sessions", methods=["POST"])
def end_user_sessions(user_id: uuid.UUID) -> Response:
    person = _get_user(user_id)
    if ConfirmForm().validate_on_submit():
        count = accounts.end_sessions(person, reason="ended by admin", actor=_actor())
        flash(f"Ended {count} session{'s' if count != 1 else ''} of {person.name}.", "success")
    return redirect(url_for("admin.user", user_id=person.id))
