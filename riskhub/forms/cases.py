"""The new-case form: survivor, person causing harm, and the survivor contact compartment."""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, ValidationError

from riskhub.forms import Filled, Form, Optional
from riskhub.forms.fields import IntegerField, SelectField
from riskhub.forms.submissions import OnceForm

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
    checks = [Filled(f"Enter the {label.lower()}")] if required else [Optional()]
    return StringField(label, validators=[*checks, Length(max=100, message=f"{label} must be 100 characters or fewer")])


def _date(label: str) -> DateField:
    return DateField(label, validators=[Optional(), not_in_future],
                     format="%Y-%m-%d", render_kw={"placeholder": "YYYY-MM-DD"})


GENDER_CHOICES = [("", "Not recorded"), ("female", "Female"), ("male", "Male"), ("non_binary", "Non-binary"),
                  ("other", "Another gender"), ("prefer_not", "Prefers not to say")]
YES_NO_UNKNOWN = [("", "Not recorded"), ("yes", "Yes"), ("no", "No"), ("unknown", "Don't know")]
RELATIONSHIP_CHOICES = [("", "Not recorded"), ("partner", "Partner"), ("ex_partner", "Former partner"),
                        ("family", "Family member"), ("other", "Other")]


class SurvivorProfileMixin:
    survivor_gender = SelectField("Survivor's gender", choices=GENDER_CHOICES, validators=[Optional()])
    survivor_language = StringField("Survivor's first language", validators=[
        Optional(), Length(max=60, message="Language must be 60 characters or fewer")])
    survivor_interpreter = BooleanField("Needs an interpreter")
    survivor_ethnicity = StringField("Survivor's ethnicity (as she describes it)", validators=[
        Optional(), Length(max=100, message="Ethnicity must be 100 characters or fewer")])
    survivor_disability = SelectField("Survivor has a disability", choices=YES_NO_UNKNOWN, validators=[Optional()])
    survivor_lgbt = SelectField("Survivor identifies as LGBT+", choices=YES_NO_UNKNOWN, validators=[Optional()])
    survivor_pregnant = SelectField("Pregnant or a baby under 18 months", choices=YES_NO_UNKNOWN,
                                    validators=[Optional()])


class CaseForm(SurvivorProfileMixin, OnceForm):
    survivor_given_name = _name("Survivor's first name")
    survivor_family_name = _name("Survivor's last name")
    survivor_date_of_birth = _date("Survivor's date of birth")
    perpetrator_given_name = _name("First name of the person causing harm")
    perpetrator_family_name = _name("Last name of the person causing harm")
    perpetrator_date_of_birth = _date("Date of birth of the person causing harm")
    perpetrator_relationship = SelectField("His relationship to the survivor", choices=RELATIONSHIP_CHOICES,
                                           validators=[Optional()])
    perpetrator_address = TextAreaField("His address (leave blank if it is hers: record hers below)", validators=[
        Optional(), Length(max=500, message="His address must be 500 characters or fewer")])
    perpetrator_weapons = SelectField("Does he have access to firearms or other weapons?", choices=YES_NO_UNKNOWN,
                                      validators=[Optional()])
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


class SurvivorForm(SurvivorProfileMixin, Form):
    """Correct the survivor's identity and profile."""

    survivor_given_name = _name("Survivor's first name")
    survivor_family_name = _name("Survivor's last name")
    survivor_date_of_birth = _date("Survivor's date of birth")
    version = HiddenField()


class ContactForm(Form):
    """Correct the survivor contact compartment."""

    contact_address = CaseForm.contact_address
    contact_phone = CaseForm.contact_phone
    contact_email = CaseForm.contact_email
    contact_safe_contact = CaseForm.contact_safe_contact
    contact_do_not_contact = CaseForm.contact_do_not_contact
    version = HiddenField()


class ChildForm(OnceForm):
    given_name = _name("Child's first name")
    family_name = _name("Child's last name", required=False)
    age = IntegerField("Age in years", validators=[
        Optional(), NumberRange(min=0, max=17, message="Age must be 0 to 17")])
    in_household = BooleanField("Lives in the household")


class InviteAgencyForm(Form):
    agency = SelectField("Agency to involve", validators=[InputRequired("Choose an agency")])


class EmergencyAccessForm(OnceForm):
    reason = TextAreaField("Why you need to see this case now", validators=[
        Filled("Explain why you need emergency access"),
        Length(min=20, max=2000, message="Explain in 20 to 2000 characters")])


class NoteForm(OnceForm):
    text = TextAreaField("Note", validators=[Filled("Enter the note"),
                                             Length(max=4000, message="Note must be 4000 characters or fewer")])
    confidential = BooleanField("Survivor-confidential: never shown to perpetrator-facing staff")


class StatusForm(Form):
    status = SelectField("New status",
                         choices=[("open", "Open"), ("under_review", "Under review"), ("closed", "Closed")],
                         validators=[InputRequired("Choose a status")])
    # The status the page showed, so a change made meanwhile by someone else is not silently undone.
    shown = HiddenField()
