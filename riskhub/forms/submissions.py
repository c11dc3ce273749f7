"""Forms that create something carry a once-only token (see `operations.submissions`)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import flash, redirect
from werkzeug.wrappers import Response
from wtforms import HiddenField

from riskhub.forms import Form
from riskhub.operations.submissions import AlreadySubmitted


class OnceForm(Form):
    """A form acted on once: shown with a fresh token, re-shown (after an error) with the same one."""

    submission = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.submission.data:
            self.submission.data = secrets.token_urlsafe(24)


def show_already_submitted(error: AlreadySubmitted, fallback: str) -> Response:
    """The same form came again: say its first submission was saved, and go where that one led."""
    flash(error.message, "success")
    return redirect(error.result or fallback)
