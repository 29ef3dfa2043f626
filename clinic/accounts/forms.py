"""Sign-in and password forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[InputRequired("Enter your e-mail address.")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password", validators=[InputRequired("Enter your current password.")]
    )
    new = PasswordField(
        "New password",
        validators=[
            InputRequired("Enter a new password."),
            Length(min=12, message="Use at least 12 characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            InputRequired("Repeat the new password."),
            EqualTo("new", message="The two passwords differ."),
        ],
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[
            InputRequired("Enter the code from your authenticator app, or a recovery code."),
            Length(max=32, message="Enter the six digits, or a recovery code like abcde-12345."),
        ],
    )


class EnrolForm(FlaskForm):
    code = StringField(
        "Six-digit code from the app",
        validators=[
            InputRequired("Enter the six-digit code your app shows."),
            Length(max=16, message="Enter the six digits your app shows."),
        ],
    )


class NewPasswordForm(FlaskForm):
    new = PasswordField(
        "Choose a password",
        validators=[
            InputRequired("Choose a password."),
            Length(min=12, message="Use at least 12 characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            InputRequired("Repeat the password."),
            EqualTo("new", message="The two passwords differ."),
        ],
    )


class ForgotForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[
            InputRequired("Enter your e-mail address."),
            Length(max=254, message="Use at most 254 characters."),
        ],
    )
