"""Assessment forms are built from the versioned form data, one WTForms class per version."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from riskhub.assessments import LEVEL_LABELS, Template
from riskhub.forms import Optional
from riskhub.forms.fields import IntegerField
from riskhub.forms.submissions import OnceForm

WEAPONS_CHOICES = [("yes", "Yes"), ("no", "No"), ("unknown", "Don't know")]


def item_field(item_id: str) -> str:
    return f"item_{item_id}"


def source_field(item_id: str) -> str:
    return f"source_{item_id}"


@lru_cache(maxsize=32)
def form_class(template: Template) -> type[FlaskForm]:
    """A form class for one form version: a question group per item, then judgement."""
    attributes: dict[str, object] = {
        "assessed_on": DateField("Date of the assessment", format="%Y-%m-%d",
                                 validators=[InputRequired("Enter the date of the assessment as YYYY-MM-DD")],
                                 default=date.today),
    }
    for number, item in enumerate(template.items, start=1):
        attributes[item_field(item.id)] = RadioField(
            f"{number}. {item.text}", choices=list(template.answers),
            validators=[InputRequired(f"Answer question {number}")],
        )
        if template.source_prompt:
            attributes[source_field(item.id)] = StringField(
                f"{template.source_prompt} (question {number})",
                validators=[Optional(), Length(max=200, message=f"Source for question {number} is too long")],
            )
    if template.police_callouts:
        attributes["police_callouts"] = IntegerField(
            "Police call-outs to this household in the last 12 months",
            validators=[Optional(), NumberRange(min=0, max=500, message="Enter a number from 0 to 500")],
        )
    if template.method == "judgement":
        attributes["judgement_level"] = RadioField(
            "Overall judgement of the risk he poses", choices=[(lv, LEVEL_LABELS[lv]) for lv in template.levels],
            validators=[InputRequired("Choose the overall level of risk")],
        )
    if template.firearms_question:
        attributes["firearms_access"] = RadioField(
            template.firearms_question, choices=WEAPONS_CHOICES,
            validators=[InputRequired("Say whether he has access to firearms or other weapons")],
        )
    attributes["raise_to_high"] = BooleanField(
        "Professional judgement: treat this case as high risk whatever the score")
    attributes["rationale"] = TextAreaField(
        "Rationale for professional judgement",
        validators=[Optional(), Length(max=4000, message="Rationale must be 4000 characters or fewer")],
    )
    attributes["notes"] = TextAreaField(
        "Other notes", validators=[Optional(), Length(max=4000, message="Notes must be 4000 characters or fewer")]
    )
    return type(f"AssessmentForm_{template.key}_{template.version}".replace("-", "_"), (OnceForm,), attributes)
