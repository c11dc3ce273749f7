"""The new-case form: survivor, person causing harm, and the survivor contact compartment."""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError

_PHONE = re.compile(r"^\+?[0-9 ()-]{6,24}$")


def not_in_future(_form: FlaskForm, field: DateField) -> None:
    if field.data and field.data > date.today():
        raise ValidationError(f"{field.label.text} must be in the past")
    if field.data and field.data.year < 1900:
        raise ValidationError(f"{field.label.text} must be after 1900")


def phone_number(_form: FlaskForm, field: StringField) -> None:
    if field.data and not _PHONE.match(field.data.strip()):
        raise ValidationError("Enter a phone number using digits, like 07700 900123")


def _name(label: str, required: bool = True) -> StringField:
    checks = [InputRequired(f"Enter the {label.lower()}")] if required else [Optional()]
    return StringField(label, validators=[*checks, Length(max=100, message=f"{label} must be 100 characters or fewer")])


def _date(label: str) -> DateField:
    return DateField(label, validators=[Optional(), not_in_future],
                     format="%Y-%m-%d", render_kw={"placeholder": "YYYY-MM-DD"})


class CaseForm(FlaskForm):
    survivor_given_name = _name("Survivor's first name")
    survivor_family_name = _name("Survivor's last name")
    survivor_date_of_birth = _date("Survivor's date of birth")
    perpetrator_given_name = _name("First name of the person causing harm")
    perpetrator_family_name = _name("Last name of the person causing harm")
    perpetrator_date_of_birth = _date("Date of birth of the person causing harm")
    contact_address = TextAreaField("Survivor's current address", validators=[
        Optional(), Length(max=500, message="Address must be 500 characters or fewer")])
    contact_phone = StringField("Survivor's phone number", validators=[Optional(), phone_number])
    contact_email = EmailField("Survivor's email address", validators=[
        Optional(), Email("Enter an email address like name@example.org"), Length(max=254)])
    contact_safe_contact = TextAreaField("Safe times and ways to contact her", validators=[
        Optional(), Length(max=1000, message="Safe contact notes must be 1000 characters or fewer")])
    contact_do_not_contact = TextAreaField("Do not contact via", validators=[
        Optional(), Length(max=1000, message="Do-not-contact notes must be 1000 characters or fewer")])
    confirm_not_duplicate = BooleanField("I have checked the cases listed above and this is a different person")
