"""A form that creates something is acted on once (see `models.submissions`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.base import utcnow
from riskhub.models.submissions import FormSubmission
from riskhub.operations import OperationError

KEPT_FOR = timedelta(days=1)
TOKEN_LENGTH = 32  # secrets.token_urlsafe(24)


class AlreadySubmitted(OperationError):
    """The same form was submitted before; nothing more was done."""

    def __init__(self, result: str) -> None:
        super().__init__("This form was already submitted and saved: it has not been saved a second time.")
        self.result = result  # where the first submission led ("" if unknown)


def claim(token: str | None, user: User) -> None:
    """Take a form's token in the current transaction, before acting on the form; raise
    AlreadySubmitted if the form was submitted before.

    Call it inside the savepoint of the work the form does (`attempt`), so a refusal of that work
    gives the token back. A form without a well-formed token (a page shown before tokens were
    given) is acted on.
    """
    if not token or len(token) != TOKEN_LENGTH:
        return
    check(token, user)
    db.session.execute(delete(FormSubmission).where(FormSubmission.submitted_at < utcnow() - KEPT_FOR))
    try:
        with db.session.begin_nested():
            db.session.add(FormSubmission(token=token, user_id=user.id))
    except IntegrityError:  # the same form, posted at the same moment, took it first
        raise AlreadySubmitted("") from None


def check(token: str | None, user: User) -> None:
    """Raise AlreadySubmitted if the form with this token was acted on before (taking nothing)."""
    earlier = db.session.get(FormSubmission, token) if token and len(token) == TOKEN_LENGTH else None
    if earlier is not None:
        raise AlreadySubmitted(earlier.result if earlier.user_id == user.id else "")


def record_result(token: str | None, path: str) -> None:
    """Note where a claimed form led, for a second submission of it to go to."""
    if token and len(token) == TOKEN_LENGTH:
        submission = db.session.get(FormSubmission, token)
        if submission is not None:
            submission.result = path[:200]
