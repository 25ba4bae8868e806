"""Forms for login, password change and user administration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from app.auth import policy
from app.auth.roles import ROLE_LABELS, ROLE_ORDER
from app.auth.services import AuthError
from app.forms import Form

#: The words for AuthError keys and password problems (the CLI shows them too).
PROBLEM_MESSAGES = AuthError.messages


def role_choices():

    return [(role.value, ROLE_LABELS[role]) for role in ROLE_ORDER]


class LoginForm(Form):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(message=_l("Enter your username.")), Length(max=60)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password.")), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )


CODE_KW = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "pattern": "[0-9 ]*",
    "maxlength": 8,
}
RECOVERY_KW = {"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}


def _password_again() -> PasswordField:
    """The signed-in user's own password, asked again."""
    return PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


def _totp_code(*, required: bool) -> StringField:
    """A code from the authenticator app."""
    first = DataRequired(message=_l("Enter the 6-digit code.")) if required else Optional()
    return StringField(
        _l("Code from your authenticator app"),
        validators=[first, Length(max=12)],
        render_kw=CODE_KW,
    )


class StepUpForm(Form):
    password = _password_again()
    code = _totp_code(required=False)


class RecoveryCodeForm(Form):
    recovery_code = StringField(
        _l("Recovery code"),
        validators=[DataRequired(message=_l("Enter one of your recovery codes.")), Length(max=40)],
        description=_l("Each code works once."),
        render_kw=RECOVERY_KW,
    )


class SecondFactorForm(Form):
    code = _totp_code(required=False)
    recovery_code = StringField(
        _l("Or a recovery code"),
        validators=[Optional(), Length(max=40)],
        render_kw=RECOVERY_KW,
    )


class TotpConfirmForm(Form):
    code = _totp_code(required=True)


class TotpDisableForm(Form):
    password = _password_again()
    code = _totp_code(required=True)


class ChangePasswordForm(Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(message=_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=_l("Enter a new password."))],
        description=_l("At least 10 characters. A short sentence is easy to remember."),
        render_kw={"autocomplete": "new-password", "minlength": 10, "maxlength": 128},
    )
    confirm_password = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(message=_l("Repeat the new password."))],
        render_kw={"autocomplete": "new-password"},
    )

    def validate_confirm_password(self, field):
        if field.data != self.new_password.data:
            raise ValidationError(_l("The two new passwords are not the same."))


USERNAME_RULE = Regexp(
    r"^[A-Za-z0-9._-]{3,60}$",
    message=_l("3 to 60 letters, digits, dots, dashes or underscores."),
)


class UserForm(Form):
    display_name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Enter the person's name.")), Length(max=120)],
    )
    email = StringField(
        _l("E-mail for notifications"),
        validators=[
            Optional(),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=200),
        ],
        render_kw={"type": "email", "autocomplete": "off", "inputmode": "email"},
    )
    role = SelectField(_l("Role"), choices=[], validators=[DataRequired()])
    client_id = SelectField(_l("Client (for client users)"), choices=[], coerce=str, default="")

    def validate_client_id(self, field):
        if policy.role_belongs_to_client(self.role.data) and not field.data:
            raise ValidationError(PROBLEM_MESSAGES["client_required"])


class NewUserForm(UserForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(message=_l("Enter a username.")), USERNAME_RULE],
        render_kw={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"},
    )
    password = PasswordField(
        _l("First password"),
        validators=[DataRequired(message=_l("Enter a first password."))],
        description=_l("The user must change it at the first login."),
        render_kw={"autocomplete": "new-password"},
    )


class SetActiveForm(Form):
    active = SelectField("", choices=["1", "0"], default="0")
