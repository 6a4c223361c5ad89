"""What every form shares: WTForms with German messages, the required-field check, the form
that only confirms an action, and the upload limit. CSRF comes from Flask-WTF on every form.

The forms themselves live with their area (portal/dog_tax.py, portal/water/forms.py,
portal/payments/forms.py, portal/identity/forms.py, …)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

REQUIRED = "Bitte füllen Sie dieses Feld aus."
UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # proofs and meter photos


def required(message: str = REQUIRED) -> DataRequired:
    return DataRequired(message=message)


class GermanForm(FlaskForm):
    """German messages throughout; ``form_errors`` (WTForms) holds messages for no one field."""

    class Meta:
        # WTForms' own messages (CSRF, choices, dates) in German too.
        def get_translations(self, form):  # type: ignore[no-untyped-def]
            return _GermanTranslations()


RELOAD = "Bitte laden Sie die Seite neu."
_GERMAN = {
    "The CSRF token is missing.": f"Das Formular ist unvollständig. {RELOAD}",
    "The CSRF token is invalid.": f"Das Formular ist ungültig. {RELOAD}",
    "The CSRF token has expired.": f"Das Formular ist abgelaufen. {RELOAD}",
    "The CSRF session token is missing.": f"Ihre Sitzung ist abgelaufen. {RELOAD}",
    "Not a valid choice.": "Bitte wählen Sie eine der Möglichkeiten.",
    "Not a valid date value.": "Bitte geben Sie ein gültiges Datum an (TT.MM.JJJJ).",
}


class _GermanTranslations:
    def gettext(self, string: str) -> str:
        return _GERMAN.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


class ConfirmForm(GermanForm):
    """A form with nothing but its CSRF token: confirms an action."""


class PersonSearchForm(GermanForm):
    """The back office's person search (persons have no portal area of their own)."""

    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(
        "Name, Unternehmen, Personenkonto, Kassenzeichen oder Mandatsreferenz",
        validators=[Length(max=100)],
    )
