"""Sign in and sign out."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from riskhub import audit
from riskhub.forms import ConfirmForm
from riskhub.forms.auth import SignInForm
from riskhub.operations import accounts

bp = Blueprint("auth", __name__)
_NOT_IN_A_PATH = {"Cc", "Cf", "Zl", "Zp"}  # control, format, line and paragraph separators


def safe_next(target: str | None) -> str:
    """Only follow `next` to a path on this site, never to another host.

    A backslash or a control or line-breaking character (CR, LF, tab, NUL...) is refused outright:
    browsers read "/\\evil" and "/\t/evil" as "//evil", and CR or LF cannot go into a header.
    """
    if target and not any(ch == "\\" or unicodedata.category(ch) in _NOT_IN_A_PATH for ch in target):
        try:
            parts = urlsplit(target)
        except ValueError:  # "http://[": not a URL at all
            return url_for("main.dashboard")
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("main.dashboard")


@bp.route("/signin", methods=["GET", "POST"])
def sign_in() -> str | Response | tuple[str, int]:
    """Show the sign-in form; on success start a fresh server-side session."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = accounts.sign_in(form.email.data or "", form.password.data or "", request.remote_addr or "")
        except accounts.SignInRefused as refused:
            form.email.errors = [str(refused)]
            return render_template("auth/sign_in.html", form=form), 400
        target = safe_next(request.args.get("next"))
        session.clear()  # a new session identifier: nothing from before sign-in survives
        login_user(user)
        return redirect(target)
    status = 400 if form.errors else 200
    # Only once the server has ended the session do other tabs hide what they show.
    return render_template("auth/sign_in.html", form=form, signed_out=session.pop("signed_out", False)), status


@bp.route("/signout", methods=["POST"])
def sign_out() -> Response:
    """End the server-side session at once (a POST, so no link can sign anyone out)."""
    if ConfirmForm().validate_on_submit() and current_user.is_authenticated:
        accounts.end_session(current_user.get_id() or "")
        audit.record("signout", actor=audit.actor_for(current_user), object_type="user",
                     object_id=current_user.id)
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    session["signed_out"] = True  # the next page tells the browser's other riskhub tabs (once)
    return redirect(url_for("auth.sign_in"))


@bp.route("/session/status")
def session_status() -> Response:
    """The page script's "am I still signed in?" before it says the session has ended. Asking
    is not activity: it does not move the idle clock (see `access._load_user`)."""
    seconds_left, final = accounts.session_time_left(current_user)
    return jsonify(signed_in=True, seconds_left=seconds_left, final=final)


@bp.route("/session/keep-alive", methods=["POST"])
def keep_alive() -> Response | tuple[Response, int]:
    """"Stay signed in" on the warning shown before the idle sign-out (and the page script's
    background call while someone is typing): this signed-in request is the activity that keeps
    the session. It reads no case content."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if request.accept_mimetypes.best == "application/json":
        seconds_left, final = accounts.session_time_left(current_user)
        return jsonify(signed_in=True, seconds_left=seconds_left, final=final)
    flash("You are still signed in.", "success")
    return redirect(safe_next(request.form.get("next")))
