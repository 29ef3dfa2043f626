"""Sign-in, password and user-management forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, EqualTo, InputRequired, Length

from clinic.accounts.models import ROLES

ROLE_LABELS = {"admin": "Admin", "staff": "Staff", "marketer": "Marketer"}
ROLE_CHOICES = [SelectChoice(role, ROLE_LABELS[role]) for role in ROLES]


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


class InviteForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[
            InputRequired("Enter their e-mail address."),
            Length(max=254, message="Use at most 254 characters."),
            Email("Enter an e-mail address like name@example.com."),
        ],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="staff")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class SettingsForm(FlaskForm):
    two_factor_for_everyone = BooleanField("Require two-factor sign-in for marketers too")
