"""Sign-in form."""

from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from riskhub.forms import Filled, Form


class SignInForm(Form):
    email = EmailField("Email address", validators=[
        Filled("Enter your email address"), Length(max=254, message="Email address is too long")])
    password = PasswordField("Password", validators=[
        InputRequired("Enter your password"), Length(max=128, message="Password is too long")])
