"""WTForms with German messages. CSRF comes from Flask-WTF on every form."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from core.identity import MIN_PASSWORD_LENGTH

REQUIRED = "Bitte füllen Sie dieses Feld aus."


def required(message: str = REQUIRED) -> DataRequired:
    return DataRequired(message=message)


class GermanForm(FlaskForm):
    """German messages throughout; ``form_errors`` (WTForms) holds messages for no one field."""

    class Meta:
        # The CSRF message in German as well.
        def translations(self, form):  # type: ignore[no-untyped-def]
            return _GermanTranslations()


RELOAD = "Bitte laden Sie die Seite neu."
_GERMAN = {
    "The CSRF token is missing.": f"Das Formular ist unvollständig. {RELOAD}",
    "The CSRF token is invalid.": f"Das Formular ist ungültig. {RELOAD}",
    "The CSRF token has expired.": f"Das Formular ist abgelaufen. {RELOAD}",
    "The CSRF session token is missing.": f"Ihre Sitzung ist abgelaufen. {RELOAD}",
    "Not a valid choice.": "Bitte wählen Sie eine der Möglichkeiten.",
}


class _GermanTranslations:
    def gettext(self, string: str) -> str:
        return _GERMAN.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


EMAIL_MESSAGE = "Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@beispiel.de."


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
        description=f"Mindestens {MIN_PASSWORD_LENGTH} Zeichen.",
        validators=[
            required(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen lang sein.",
            ),
        ],
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

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
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


class PersonSearchForm(GermanForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField("Name, Unternehmen oder Personenkontonummer", validators=[Length(max=100)])
