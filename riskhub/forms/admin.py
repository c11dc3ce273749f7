"""Forms for agencies and users."""

from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from riskhub.forms import Filled, Form
from riskhub.forms.fields import SelectField
from riskhub.models.accounts import AGENCY_KIND_LABELS, Role

ROLE_CHOICES = [
    (Role.PRACTITIONER.value, "Practitioner: enters assessments, refers cases, owns actions"),
    (Role.CHAIR.value, "Chair: schedules and runs meetings"),
    (Role.AUDITOR.value, "Auditor: reviews the access log (never case content)"),
    (Role.ADMIN.value, "Admin: agencies, users, roles and keys"),
]


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes inside a fieldset."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AgencyForm(Form):
    name = StringField("Agency name", validators=[
        Filled("Enter the agency's name"),
        Length(max=200, message="Agency name must be 200 characters or fewer"),
    ])
    kind = SelectField("Kind of agency", choices=[(k.value, label) for k, label in AGENCY_KIND_LABELS.items()],
                       validators=[InputRequired("Choose the kind of agency")])
    active = BooleanField("Active (its staff can sign in)", default=True)
    version = HiddenField()


class UserForm(Form):
    name = StringField("Full name", validators=[
        Filled("Enter the person's name"), Length(max=200, message="Name must be 200 characters or fewer")])
    email = EmailField("Email address", validators=[
        Filled("Enter an email address"), Length(max=254, message="Email address is too long")])
    agency = SelectField("Agency", validators=[InputRequired("Choose the person's agency")])
    roles = CheckboxesField("Roles", choices=ROLE_CHOICES, validators=[InputRequired("Choose at least one role")])
    password = PasswordField("Initial password", validators=[InputRequired("Enter an initial password")])


class RolesForm(Form):
    roles = CheckboxesField("Roles", choices=ROLE_CHOICES, validators=[InputRequired("Choose at least one role")])
    version = HiddenField()


class PasswordResetForm(Form):
    password = PasswordField("New password", validators=[InputRequired("Enter a new password")])
    version = HiddenField()
