"""The signed-in user's own account: changing their password."""

from wtforms import PasswordField
from wtforms.validators import InputRequired, Length, ValidationError

from riskhub.forms import Form


class ChangePasswordForm(Form):
    current_password = PasswordField("Current password", validators=[
        InputRequired("Enter your current password"), Length(max=128, message="Password is too long")])
    new_password = PasswordField("New password", validators=[InputRequired("Enter a new password")])
    confirm_password = PasswordField("New password again", validators=[InputRequired("Enter the new password again")])

    def validate_confirm_password(self, field: PasswordField) -> None:
        if self.new_password.data and field.data != self.new_password.data:
            raise ValidationError("The two new passwords are not the same")
