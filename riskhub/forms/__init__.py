"""WTForms classes, one module per area. Every POST button is a form so it carries a CSRF token."""

from flask import flash
from flask_wtf import FlaskForm

from riskhub.operations import OperationError


class ConfirmForm(FlaskForm):
    """A bare form for POST buttons (sign out, end sessions, deactivate)."""


def show_operation_error(form: FlaskForm, error: OperationError, aliases: dict[str, str] | None = None) -> None:
    """Show an operation's refusal beside its field (GOV.UK pattern), or at the top if it has none.

    `aliases` maps an operation's field name to the form's name for it.
    """
    name = (aliases or {}).get(error.field or "", error.field or "")
    target = getattr(form, name, None) if name else None
    if target is not None:
        target.errors = [*target.errors, error.message]
    else:
        flash(error.message, "error")
