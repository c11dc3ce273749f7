"""The auditor's search (a GET form: it changes nothing) and the emergency-access review."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from riskhub.forms import Filled, Form, Optional
from riskhub.forms.fields import SelectField

OUTCOMES = [("", "Any outcome"), ("allowed", "Allowed"), ("denied", "Denied"),
            ("failed", "Not completed (the request failed)")]
REVIEW_OUTCOMES = [("justified", "Justified"), ("not_justified", "Not justified")]
_REFERENCE = re.compile(r"^[A-Z0-9]{1,10}-[0-9]{4}-[0-9]{1,8}$")
_ACTION = re.compile(r"^[a-z_.{}]{1,40}\*?$")


def parse_date(text: str) -> date | None:
    """Read YYYY-MM-DD or DD/MM/YYYY; None when it is not a real date."""
    text = text.strip()
    found = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if found:
        year, month, day = (int(x) for x in found.groups())
    else:
        found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if not found:
            return None
        day, month, year = (int(x) for x in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_check(label: str) -> Any:
    def check(_form: FlaskForm, field: Field) -> None:
        if not field.data:
            field.parsed = None
            return
        field.parsed = parse_date(field.data)
        if field.parsed is None:
            raise ValidationError(f"{label} must be a real date, for example 2026-03-27")
        if field.parsed.year < 2000 or field.parsed > date.today():
            raise ValidationError(f"{label} must be between 1 January 2000 and today")
    return check


class AuditSearchForm(Form):
    """Filters for the access log. Read from the query string, so no CSRF token."""

    class Meta:
        csrf = False

    user = StringField("User's email address", validators=[Optional(), Length(max=254, message=(
        "Email address must be 254 characters or fewer"))])
    agency = SelectField("Agency", choices=[("", "Any agency")], validate_choice=False, default="")
    case_ref = StringField("Case reference", validators=[Optional(), Length(max=20, message=(
        "Case reference must be 20 characters or fewer"))])
    action = StringField("Action", validators=[Optional()])
    outcome = SelectField("Outcome", choices=OUTCOMES, default="")
    date_from = StringField("From date", validators=[_date_check("From date")])
    date_to = StringField("To date", validators=[_date_check("To date")])

    def validate_case_ref(self, field: Field) -> None:
        # Checked as it is searched for: upper case can be longer ("ß" becomes "SS").
        if field.data and not (_REFERENCE.fullmatch(field.data.strip().upper()) and field.data.isascii()):
            raise ValidationError("Enter a case reference like RH-2026-0042")

    def validate_action(self, field: Field) -> None:
        if field.data and not _ACTION.fullmatch(field.data.strip()):
            raise ValidationError("Enter an action like case.view, or the start of one followed by * (case.*)")

    def validate_agency(self, field: Field) -> None:
        if field.data and field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choose an agency from the list")


class EmergencyReviewForm(Form):
    """An auditor's decision on one emergency-access grant."""

    outcome = RadioField("Was this emergency access justified?", choices=REVIEW_OUTCOMES,
                         validators=[InputRequired("Say whether the emergency access was justified")])
    note = TextAreaField("Why you decided this", validators=[
        Filled("Explain your decision"),
        Length(min=10, max=2000, message="Explain your decision in 10 to 2000 characters")])
