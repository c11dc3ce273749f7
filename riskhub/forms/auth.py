"""Sign-in form."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[
        InputRequired("Enter your email address"), Length(max=254, message="Email address is too long")])
    password = PasswordField("Password", validators=[
        InputRequired("Enter your password"), Length(max=128, message="Password is too long")])
