"""Forms for partnerships, protocols and partner contact."""

from __future__ import annotations

from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from riskhub.forms import Filled, Form, Optional, WithinYears
from riskhub.forms.admin import CheckboxesField
from riskhub.forms.fields import IntegerField, SelectField
from riskhub.forms.submissions import OnceForm
from riskhub.models.partnerships import (
    CATEGORY_LABELS,
    LEGAL_BASES,
    MODEL_LABELS,
    ContactOutcome,
    FlowDirection,
)

DIRECTION_LABELS = {FlowDirection.TO_SURVIVOR_SIDE: "programme to survivor services",
                    FlowDirection.TO_PROGRAMME: "survivor services to the programme"}
FLOW_CHOICES = [(f"{c.value}|{d.value}", f"{label}: {DIRECTION_LABELS[d]}")
                for d in FlowDirection for c, label in CATEGORY_LABELS.items()]
MATRIX = {
    "contacts_partner": "Who contacts the partner",
    "assesses_survivor_side": "Who assesses risk on the survivor side",
    "assesses_perpetrator_side": "Who assesses risk on the perpetrator side",
    "attends_meetings": "Who attends the joint meetings",
    "informs_survivor": "Who informs the survivor of outcomes",
}
CONTACTS = {
    "programme_contact": "Programme contact person",
    "service_contact": "Survivor service contact person",
    "escalation_contact": "Escalation contact",
}


def _text(label: str) -> StringField:
    return StringField(label, validators=[
        Optional(), Length(max=200, message=f"{label} must be 200 characters or fewer")])


class PartnershipForm(Form):
    name = StringField("Name of the partnership", validators=[
        Filled("Enter a name for the partnership"), Length(max=200, message="Name is too long")])
    programme_agency = SelectField("Perpetrator programme", validators=[InputRequired("Choose the programme")])
    services = CheckboxesField("Survivor support services")
    model = RadioField("Cooperation model", choices=[(m.value, label) for m, label in MODEL_LABELS.items()],
                       validators=[InputRequired("Choose the cooperation model")])
    max_days_to_offer = IntegerField("Most days from a man's enrolment to the first offer of partner contact",
                                     default=7, validators=[Filled("Enter the number of days"),
                                                            NumberRange(min=1, max=60, message="1 to 60 days")])
    programme_contact = _text(CONTACTS["programme_contact"])
    service_contact = _text(CONTACTS["service_contact"])
    escalation_contact = _text(CONTACTS["escalation_contact"])
    contacts_partner = _text(MATRIX["contacts_partner"])
    assesses_survivor_side = _text(MATRIX["assesses_survivor_side"])
    assesses_perpetrator_side = _text(MATRIX["assesses_perpetrator_side"])
    attends_meetings = _text(MATRIX["attends_meetings"])
    informs_survivor = _text(MATRIX["informs_survivor"])


class ProtocolForm(OnceForm):
    title = StringField("Title", validators=[Filled("Enter the protocol's title"), Length(max=200)])
    parties = CheckboxesField("Agencies party to the protocol")
    effective_from = DateField("Takes effect on", format="%Y-%m-%d",
                               validators=[InputRequired("Enter the date it takes effect as YYYY-MM-DD"),
                                           WithinYears(back=20, ahead=5)])
    review_on = DateField("Review by", format="%Y-%m-%d",
                          validators=[InputRequired("Enter the review date as YYYY-MM-DD"),
                                      WithinYears(back=20, ahead=10)])
    legal_basis = SelectField("Legal basis", choices=list(LEGAL_BASES.items()),
                              validators=[InputRequired("Choose the legal basis")])
    flows = CheckboxesField("What may be shared, and in which direction", choices=FLOW_CHOICES)
    signatories = TextAreaField("Signatories and dates signed", validators=[Optional(), Length(max=2000)])
    consent_rules = TextAreaField("Consent rules", validators=[Optional(), Length(max=4000)])
    escalation = TextAreaField("How disagreements are escalated", validators=[Optional(), Length(max=4000)])


class AttemptForm(OnceForm):
    outcome = RadioField("Outcome", choices=[(o.value, o.value.capitalize()) for o in ContactOutcome],
                         validators=[InputRequired("Choose the outcome")])
    on = DateField("Date", format="%Y-%m-%d", validators=[InputRequired("Enter the date as YYYY-MM-DD")])
    support = TextAreaField("Support given", validators=[Optional(), Length(max=4000)])
    safety_planning = TextAreaField("Safety planning", validators=[Optional(), Length(max=4000)])


class NoticeForm(Form):
    informed = RadioField("Was the partner informed?", choices=[("yes", "Yes"), ("no", "No")],
                          validators=[InputRequired("Say whether the partner was informed")])
    reason = TextAreaField("If not, why not", validators=[
        Optional(), Length(max=2000, message="Reason must be 2000 characters or fewer")])
