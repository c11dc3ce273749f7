"""WTForms classes, one module per area. Every POST button is a form so it carries a CSRF token.

Every form is a `Form`: it refuses control characters in whatever was sent, and its required
text fields use `Filled`, so a name or note of nothing but spaces is not taken for one.
"""

import re
from datetime import date
from typing import Any

from flask import flash, g, has_request_context, request
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.fields.choices import SelectFieldBase
from wtforms.validators import InputRequired, StopValidation, ValidationError
from wtforms.validators import Optional as _Optional

from riskhub.operations import OperationError

# C0 controls and DEL, except tab, line feed and carriage return (a textarea's own). No one types
# them; they come from pasting, and PostgreSQL cannot store NUL at all.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_NOT_OFFERED = ("Not a valid choice.", "is not a valid choice for this field.", "are not valid choices for this field.")


def note_form_errors() -> None:
    """This request's page shows a form with errors: its title starts "Error: " (`page_has_errors`)."""
    if has_request_context():
        g.form_has_errors = True


def page_has_errors() -> bool:
    return bool(has_request_context() and g.get("form_has_errors"))


class Form(FlaskForm):
    """The base of riskhub's forms: a field sent with a control character is an error beside it."""

    class Meta:
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            """A form reads the request's form fields only: a JSON body or a file part (which no
            page sends) is not read as fields, so it is refused as missing input, never a 500."""
            if (formdata is not None and not hasattr(formdata, "getlist") and has_request_context()
                    and (request.files or request.is_json)):
                return request.form if request.method in {"POST", "PUT", "PATCH", "DELETE"} else None
            return super().wrap_formdata(form, formdata)  # type: ignore[misc]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, SelectFieldBase) and field.errors:
                # WTForms' own words ("Not a valid choice.", or the raw value sent) name neither the
                # field nor what to do: a choice no longer offered is usually a page left open.
                field.errors = [f"{field.label.text}: choose from the options shown on the page" if
                                str(error).endswith(_NOT_OFFERED) else error for error in field.errors]
            if any(isinstance(value, str) and CONTROL_CHARACTERS.search(value) for value in field.raw_data or ()):
                field.errors = [*field.errors, f"{field.label.text} contains an invisible control character: "
                                               "remove it and try again"]
                valid = False
        if not valid:
            note_form_errors()
        return valid


class Filled(InputRequired):
    """InputRequired that also refuses text of only spaces (which would be saved as nothing, or in a
    number field be taken for a typing slip)."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        super().__call__(form, field)
        raw = field.raw_data[0] if field.raw_data else ""
        # Spaces in a number field leave no data to look at, only what was sent.
        if (isinstance(field.data, str) and not field.data.strip()) or (isinstance(raw, str) and not raw.strip()):
            field.errors[:] = []
            raise StopValidation(self.message or field.gettext("This field is required."))


class Optional(_Optional):
    """Optional that also empties what it lets through: WTForms takes a value of only spaces as
    "not given" and clears the field's errors (a choice not in the list included), but leaves the
    spaces in `data`, where they would be stored or reach an Enum or UUID as if chosen."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        try:
            super().__call__(form, field)
        except StopValidation:
            if isinstance(field.data, str):
                field.data = ""
            raise


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, in a year without one
        return day.replace(year=day.year + years, day=28)


class WithinYears:
    """A date no more than `back` years before today and `ahead` years after it: a year typed
    as 0001 or 9999 is a slip, named beside the field, not a record to keep."""

    def __init__(self, back: int, ahead: int) -> None:
        self.back, self.ahead = back, ahead

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not isinstance(field.data, date):
            return
        today = date.today()
        earliest, latest = _years_from(today, -self.back), _years_from(today, self.ahead)
        if not earliest <= field.data <= latest:
            raise ValidationError(f"{field.label.text} must be between {earliest:%d %B %Y} and {latest:%d %B %Y}")


class ConfirmForm(Form):
    """A bare form for POST buttons (sign out, end sessions, deactivate)."""


def show_operation_error(form: FlaskForm, error: OperationError, aliases: dict[str, str] | None = None) -> None:
    """Show an operation's refusal beside its field (GOV.UK pattern), or at the top if it has none.

    `aliases` maps an operation's field name to the form's name for it.
    """
    name = (aliases or {}).get(error.field or "", error.field or "")
    target = getattr(form, name, None) if name else None
    if target is not None:
        target.errors = [*target.errors, error.message]
        note_form_errors()
    else:
        flash(error.message, "error")
