"""Referral to the joint meeting, and programme events."""

from __future__ import annotations

from wtforms import DateField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from riskhub.forms import Form, Optional
from riskhub.forms.admin import CheckboxesField
from riskhub.forms.submissions import OnceForm
from riskhub.models.events import EVENT_LABELS
from riskhub.models.referrals import CONSENT_LABELS, REASON_LABELS, ReferralReason


class ReferralForm(Form):
    # The case's status when the form was shown: a case closed (or reopened) meanwhile is not
    # referred on the strength of a page that no longer describes it.
    shown = HiddenField()
    reasons = CheckboxesField(
        "Reasons for referral",
        choices=[(r.value, REASON_LABELS[r]) for r in ReferralReason if r != ReferralReason.REPEAT],
    )
    consent = RadioField("Survivor's consent to share",
                         choices=[(c.value, label) for c, label in CONSENT_LABELS.items()],
                         validators=[InputRequired("Say whether the survivor consented")])
    decided_by = StringField("Who decided to share without consent", validators=[
        Optional(), Length(max=200, message="Name and role must be 200 characters or fewer")])
    consent_reason = TextAreaField("Why information is shared without consent", validators=[
        Optional(), Length(max=2000, message="Reason must be 2000 characters or fewer")])


class ProgrammeEventForm(OnceForm):
    kind = RadioField("What happened", choices=[(k.value, label) for k, label in EVENT_LABELS.items()],
                      validators=[InputRequired("Choose what happened")])
    occurred_on = DateField("Date it happened", format="%Y-%m-%d",
                            validators=[InputRequired("Enter the date as YYYY-MM-DD")])
    note = TextAreaField("What the survivor-side workers should know", validators=[
        Optional(), Length(max=2000, message="Note must be 2000 characters or fewer")])
