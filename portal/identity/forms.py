"""The forms of log-in, registration and "Passwort vergessen" (citizens and clerks)."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, PasswordField, RadioField, SelectChoice, StringField
from wtforms.validators import Email, EqualTo, Length, Optional, Regexp

from core.identity import passwords
from portal.form_fields import GermanForm, required

EMAIL_MESSAGE = "Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@beispiel.de."
NEW_PASSWORD_HINT = (
    f"Mindestens {passwords.MIN_LENGTH} Zeichen, am besten mehrere Wörter, die nicht "
    "zusammengehören. Nicht erlaubt: häufige Passwörter, Zeichenfolgen wie „12345“ und Ihr "
    "Name oder Ihre E-Mail-Adresse."
)


class LoginForm(GermanForm):
    email = EmailField(
        "E-Mail-Adresse",
        validators=[required(), Email(EMAIL_MESSAGE)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Passwort", validators=[required()], render_kw={"autocomplete": "current-password"}
    )


class RegisterForm(GermanForm):
    kind = RadioField(
        "Ich registriere mich als",
        choices=[SelectChoice("natural", "Privatperson"), SelectChoice("business", "Unternehmen")],
        default="natural",
        validators=[required("Bitte wählen Sie Privatperson oder Unternehmen.")],
    )
    given_name = StringField(
        "Vorname",
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "given-name"},
    )
    family_name = StringField(
        "Nachname",
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "family-name"},
    )
    company_name = StringField(
        "Name des Unternehmens",
        validators=[Optional(), Length(max=140)],
        render_kw={"autocomplete": "organization"},
    )
    street = StringField(
        "Straße",
        validators=[required(), Length(max=120)],
        render_kw={"autocomplete": "address-line1"},
    )
    house_number = StringField("Hausnummer", validators=[required(), Length(max=12)])
    postal_code = StringField(
        "Postleitzahl",
        validators=[required(), Regexp(r"^\d{5}$", message="Die Postleitzahl hat fünf Ziffern.")],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )
    city = StringField(
        "Ort", validators=[required(), Length(max=80)], render_kw={"autocomplete": "address-level2"}
    )
    email = EmailField(
        "E-Mail-Adresse",
        validators=[required(), Email(EMAIL_MESSAGE)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        "Passwort",
        description=NEW_PASSWORD_HINT,
        validators=[required()],
        render_kw={"autocomplete": "new-password"},
    )
    password_repeat = PasswordField(
        "Passwort wiederholen",
        validators=[
            required(),
            EqualTo("password", message="Die Passwörter stimmen nicht überein."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    # Set by the view: what the password must not be made of besides the fields (municipality).
    password_context: tuple[str | None, ...] = ()

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        context = [
            self.email.data,
            self.given_name.data,
            self.family_name.data,
            self.company_name.data,
            f"{self.given_name.data or ''} {self.family_name.data or ''}",
            self.street.data,
            self.city.data,
            *self.password_context,
        ]
        if self.password.data and (
            message := passwords.problem(self.password.data, context=context)
        ):
            self.password.errors = [*self.password.errors, message]
            ok = False
        if self.kind.data == "business":
            if not (self.company_name.data or "").strip():
                self.company_name.errors = [
                    *self.company_name.errors,
                    "Bitte geben Sie den Namen des Unternehmens an.",
                ]
                ok = False
        elif not (self.family_name.data or "").strip():
            self.family_name.errors = [
                *self.family_name.errors,
                "Bitte geben Sie Ihren Nachnamen an.",
            ]
            ok = False
        return ok


class ForgotPasswordForm(GermanForm):
    email = EmailField(
        "E-Mail-Adresse",
        validators=[required(), Email(EMAIL_MESSAGE)],
        render_kw={"autocomplete": "email"},
    )


class NewPasswordForm(GermanForm):
    password = PasswordField(
        "Neues Passwort",
        description=NEW_PASSWORD_HINT,
        validators=[required()],
        render_kw={"autocomplete": "new-password"},
    )
    password_repeat = PasswordField(
        "Neues Passwort wiederholen",
        validators=[
            required(),
            EqualTo("password", message="Die Passwörter stimmen nicht überein."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ResendForm(GermanForm):
    """Only the CSRF token: "send the confirmation link again"."""
