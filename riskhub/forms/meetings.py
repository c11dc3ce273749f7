"""Forms for scheduling and running meetings, and for safety actions."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import URL, InputRequired, Length, NumberRange

from riskhub.forms import Filled, Form, Optional, WithinYears
from riskhub.forms.admin import CheckboxesField
from riskhub.forms.fields import IntegerField, SelectField
from riskhub.forms.submissions import OnceForm

REPEAT_CHOICES = [("none", "Does not repeat"), ("weekly", "Every week"), ("fortnightly", "Every two weeks"),
                  ("monthly", "Every month, same date")]


class MeetingForm(OnceForm):
    date = DateField("Date", format="%Y-%m-%d", validators=[InputRequired("Enter the date as YYYY-MM-DD")])
    time = TimeField("Start time", format="%H:%M", validators=[InputRequired("Enter the start time as HH:MM")])
    duration = IntegerField("Length in minutes", default=180, validators=[
        Filled("Enter the length in minutes"),
        NumberRange(min=15, max=600, message="Length must be 15 to 600 minutes")])
    venue = StringField("Venue", validators=[
        Optional(), Length(max=200, message="Venue must be 200 characters or fewer")])
    online_link = URLField("Online meeting link", validators=[
        Optional(), URL(message="Enter a full link starting with https://"), Length(max=500)])
    agencies = CheckboxesField("Agencies invited", validators=[InputRequired("Invite at least one agency")])
    repeat = SelectField("Repeats", choices=REPEAT_CHOICES, default="none")
    occurrences = IntegerField("Number of meetings in the series", default=1, validators=[
        Optional(), NumberRange(min=1, max=26, message="A series has 1 to 26 meetings")])
    slot_minutes = IntegerField("Minutes per case", default=12, validators=[
        Filled("Enter the minutes per case"), NumberRange(min=5, max=60, message="5 to 60 minutes per case")])


class AddCaseForm(Form):
    referral = SelectField("Referred case", validators=[InputRequired("Choose a referred case")])


class AttendanceForm(OnceForm):
    kind = RadioField("Attending as", choices=[("attendee", "Attendee"), ("apology", "Apologies"),
                                               ("observer", "Observer")],
                      validators=[InputRequired("Choose attendee, apologies or observer")])
    agency = SelectField("Agency", validators=[InputRequired("Choose the agency")])
    name = StringField("Name", validators=[Filled("Enter the person's name"),
                                           Length(max=200, message="Name must be 200 characters or fewer")])
    info_sent_on = DateField("Apologies: date their information was sent (if it was)", format="%Y-%m-%d",
                             validators=[Optional(), WithinYears(back=5, ahead=1)])


class MinutesForm(Form):
    minutes = TextAreaField("Discussion summary (shared with every agency)", validators=[
        Optional(), Length(max=20000, message="Summary must be 20,000 characters or fewer")])
    survivor_minutes = TextAreaField("Survivor-side only (never in perpetrator-facing copies)", validators=[
        Optional(), Length(max=20000, message="This must be 20,000 characters or fewer")])
    decisions = TextAreaField("Decisions", validators=[
        Optional(), Length(max=10000, message="Decisions must be 10,000 characters or fewer")])
    informs_survivor = StringField("Who informs the survivor of the outcome", validators=[
        Optional(), Length(max=200, message="This must be 200 characters or fewer")])
    version = HiddenField()
    survivor_version = HiddenField()  # shown to the survivor side only, with its part


class ActionForm(OnceForm):
    description = TextAreaField("Action", validators=[
        Filled("Describe the action"), Length(max=2000, message="Action must be 2000 characters or fewer")])
    owner_agency = SelectField("Owner agency", validators=[InputRequired("Choose the owner agency")])
    owner_user = SelectField("Owner person (optional)", validators=[Optional()])
    deadline = DateField("Deadline", format="%Y-%m-%d", validators=[InputRequired("Enter the deadline as YYYY-MM-DD")])
    survivor_only = BooleanField("Survivor-side only: never shown to perpetrator-facing agencies")


class ActionUpdateForm(Form):
    status = RadioField("Status", choices=[("open", "Open"), ("in_progress", "In progress"), ("done", "Done"),
                                           ("not_done", "Not done")],
                        validators=[InputRequired("Choose the status")])
    reason = RadioField("If not done, why", choices=[("circumstances_changed", "Circumstances changed"),
                                                     ("agency_did_not_act", "The agency did not act")],
                        validators=[Optional()])
    note = TextAreaField("Note", validators=[
        Optional(), Length(max=4000, message="Note must be 4000 characters or fewer")])
    version = HiddenField()
