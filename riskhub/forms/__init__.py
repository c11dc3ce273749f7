"""WTForms classes, one module per area. Every POST button is a form so it carries a CSRF token."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A bare form for POST buttons (sign out, end sessions, deactivate)."""
