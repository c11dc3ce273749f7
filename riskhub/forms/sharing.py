"""Recording what was shared about a case, or a decision not to share."""

from __future__ import annotations

from wtforms import DateField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from riskhub.forms import Optional, WithinYears
from riskhub.forms.fields import SelectField
from riskhub.forms.submissions import OnceForm
from riskhub.models.partnerships import CATEGORY_LABELS
from riskhub.models.sharing import CONSENT_LABELS, DECISION_LABELS


class SharingForm(OnceForm):
    decision = RadioField("What was decided", choices=[(d.value, label) for d, label in DECISION_LABELS.items()],
                          validators=[InputRequired("Say whether information was shared")])
    with_agency = SelectField("Agency shared with, or that asked", choices=[],
                              validators=[InputRequired("Choose the agency")])
    decided_on = DateField("Date of the decision", format="%Y-%m-%d",
                           validators=[InputRequired("Enter the date as YYYY-MM-DD, for example 2026-03-27"),
                                       WithinYears(back=20, ahead=1)])
    category = SelectField("Kind of information (needed when a perpetrator programme is involved)",
                           choices=[("", "Not applicable"),
                                    *((c.value, label) for c, label in CATEGORY_LABELS.items())],
                           validators=[Optional()])
    legal_basis = RadioField("Legal basis for sharing", choices=[], validators=[Optional()],
                             validate_choice=False)
    consent = RadioField("Consent", choices=[(c.value, label) for c, label in CONSENT_LABELS.items()],
                         validators=[InputRequired("Say what the consent status was")])
    information = TextAreaField("What was shared (or asked for)", validators=[
        Optional(), Length(max=2000, message="Describe it in 2000 characters or fewer")])
    reason = TextAreaField("Why it was shared, or why not", validators=[
        Optional(), Length(max=2000, message="Explain in 2000 characters or fewer")])
