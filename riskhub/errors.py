"""Error pages: plain explanations, never a stack trace or a piece of data."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from riskhub import audit
from riskhub.crypto import CryptoError
from riskhub.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("The request could not be understood", "Go back, check what you entered and try again."),
    401: ("Sign in to continue", "Your session has ended. Sign in again."),
    403: ("You do not have access to this page",
          "Your role or agency does not give you access. Ask your administrator if you need it."),
    404: ("Page not found", "Check the address, or go back to the dashboard."),
    405: ("That action is not possible here", "Use the buttons on the page instead of the address bar."),
    409: ("This record was changed by someone else",
          "Nothing you entered was saved over their change. Reload the page to see it."),
    413: ("What you sent is too large", "Send a smaller file or less text at a time."),
    500: ("Sorry, something went wrong",
          "Nothing was saved. Try again, and tell your administrator if it happens again."),
    503: ("Sorry, riskhub could not record this request",
          "Nothing was shown or saved. Try again in a moment."),
}


def render_error(status: int) -> tuple[str, int]:
    """The plain error page for an HTTP status."""
    title, advice = MESSAGES.get(status, MESSAGES[500])
    page = render_template("errors/error.html", status=status, title=title, advice=advice, error_page=True)
    return page, status


def register(app: Flask) -> None:
    """Install the error pages."""

    @app.errorhandler(CSRFError)
    def csrf_failed(_error: CSRFError) -> tuple[str, int]:
        title = "This form has expired"
        advice = "Go back, reload the page and submit the form again."
        page = render_template("errors/error.html", status=400, title=title, advice=advice, error_page=True)
        return page, 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return render_error(error.code or 500)

    @app.errorhandler(CryptoError)
    def crypto_error(error: CryptoError) -> tuple[str, int]:
        # The message names the key id and place, never the value; it goes to the server log.
        log.error("cryptographic failure: %s", error)
        return render_server_error()

    @app.errorhandler(StaleDataError)
    def changed_meanwhile(_error: StaleDataError) -> tuple[str, int]:
        # Someone else saved the row first (version check): keep their change, drop this one,
        # but keep this request's access-log entries on record.
        db.session.rollback()
        audit.replay_request_entries()
        return render_error(409)

    @app.errorhandler(InternalServerError)
    def server_error(_error: InternalServerError) -> tuple[str, int]:
        return render_server_error()


_BARE_500 = (
    '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
    "<title>Sorry, something went wrong - riskhub</title></head><body><main>"
    f"<h1>{MESSAGES[500][0]}</h1><p>{MESSAGES[500][1]}</p></main></body></html>"
)


def render_server_error() -> tuple[str, int]:
    """The 500 page, even when the database session is broken or the database is gone."""
    try:
        db.session.rollback()  # a failed flush leaves the session unusable for the page
        return render_error(500)
    except Exception:  # noqa: BLE001 - the error page itself must not fail
        log.exception("the error page could not be rendered; sent the bare one")
        return _BARE_500, 500
