"""The signed-in user's own account: who they are signed in as, their password, their sessions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from riskhub.forms import ConfirmForm, show_operation_error
from riskhub.forms.account import ChangePasswordForm
from riskhub.operations import OperationError, accounts

bp = Blueprint("account", __name__, url_prefix="/account")

Page = str | Response | tuple[str, int]


@bp.route("/")
def index() -> Page:
    sessions = accounts.live_sessions(current_user)
    current = next((s for s in sessions if accounts.is_current_session(current_user, s)), None)
    return render_template("account/index.html", sessions=sessions, current=current, confirm_form=ConfirmForm())


@bp.route("/password", methods=["GET", "POST"])
def change_password() -> Page:
    """Change your own password. After an admin set it, this is the only page open until you do."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            # Not in a savepoint: a wrong current password must stay counted (and logged).
            ended = accounts.change_own_password(current_user, form.current_password.data or "",
                                                 form.new_password.data or "")
        except OperationError as error:
            show_operation_error(form, error)
        else:
            others = f" You have been signed out of your {ended} other session{'s' if ended != 1 else ''}." \
                if ended else ""
            flash(f"Your password has been changed.{others}", "success")
            return redirect(url_for("account.index"))
    status = 400 if form.errors else 200
    return render_template("account/password.html", form=form), status


@bp.route("/sessions/end-others", methods=["POST"])
def end_other_sessions() -> Response:
    """Sign out everywhere else: a browser left signed in on another machine."""
    if ConfirmForm().validate_on_submit():
        ended = accounts.end_other_sessions(current_user, reason="signed out from another session")
        flash(f"Signed out of {ended} other session{'s' if ended != 1 else ''}." if ended
              else "You had no other sessions.", "success")
    else:
        flash("The page had expired: press the button again.", "error")
    return redirect(url_for("account.index"))
