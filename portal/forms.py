"""WTForms with German messages. CSRF comes from Flask-WTF on every form."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileSize
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from core.identity import passwords
from core.kernel.errors import FieldErrors
from core.kernel.references import format_kassenzeichen
from core.ledger.kinds import KINDS
from core.payments.sepa.mandates import check_iban, tax_accounts_of
from portal.requests import show_field_errors

REQUIRED = "Bitte füllen Sie dieses Feld aus."


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


class PersonSearchForm(GermanForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(
        "Name, Unternehmen, Personenkonto, Kassenzeichen oder Mandatsreferenz",
        validators=[Length(max=100)],
    )


class AddressFields(GermanForm):
    given_name = StringField(
        "Vorname",
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "given-name"},
    )
    family_name = StringField(
        "Nachname",
        validators=[required("Bitte geben Sie Ihren Nachnamen an."), Length(max=100)],
        render_kw={"autocomplete": "family-name"},
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


PROOF_TYPES = ["pdf", "jpg", "jpeg", "png"]
PROOF_MAX_BYTES = 5 * 1024 * 1024


class DogRegistrationForm(GermanForm):
    name = StringField("Name des Hundes", validators=[required(), Length(max=60)])
    breed = SelectField("Rasse", validators=[required("Bitte wählen Sie die Rasse.")])
    breed_other = StringField(
        "Andere Rasse",
        validators=[Optional(), Length(max=80)],
        description="Nur ausfüllen, wenn Sie oben „andere Rasse“ gewählt haben.",
    )
    born_on = DateField("Geburtsdatum des Hundes", validators=[Optional()])
    acquired_on = DateField(
        "Seit wann halten Sie den Hund?",
        validators=[required("Bitte geben Sie das Datum an.")],
        description="Tag der Aufnahme oder Ihres Zuzugs mit dem Hund.",
    )
    chip_number = StringField(
        "Chipnummer (Transponder)",
        validators=[Optional()],
        description="15 Ziffern, steht im Heimtierausweis.",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    exemption_code = SelectField("Steuerbefreiung oder -ermäßigung", validators=[Optional()])
    exemption_note = TextAreaField(
        "Begründung der Befreiung", validators=[Optional(), Length(max=1000)]
    )
    proof = FileField(
        "Nachweis (PDF, JPG oder PNG, höchstens 5 MB)",
        validators=[
            FileAllowed(PROOF_TYPES, "Bitte laden Sie eine PDF-, JPG- oder PNG-Datei hoch."),
            FileSize(PROOF_MAX_BYTES, message="Die Datei ist größer als 5 MB."),
        ],
    )

    OTHER = "__andere__"

    def set_choices(self, breeds: list[str], exemptions: dict[str, str]) -> None:
        self.breed.choices = [
            SelectChoice("", "Bitte wählen"),
            *(SelectChoice(b, b) for b in breeds),
            SelectChoice(self.OTHER, "andere Rasse"),
        ]
        self.exemption_code.choices = [
            SelectChoice("", "keine"),
            *(SelectChoice(k, v) for k, v in exemptions.items()),
        ]

    def breed_name(self) -> str:
        if self.breed.data == self.OTHER:
            return (self.breed_other.data or "").strip()
        return self.breed.data or ""

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.breed.data == self.OTHER and not (self.breed_other.data or "").strip():
            self.breed_other.errors = [*self.breed_other.errors, "Bitte geben Sie die Rasse an."]
            ok = False
        return ok


class DeregistrationForm(GermanForm):
    reason = RadioField(
        "Grund der Abmeldung",
        choices=[
            SelectChoice("died", "Der Hund ist verstorben"),
            SelectChoice("sold", "Abgegeben oder verkauft"),
            SelectChoice("moved_away", "Ich ziehe mit dem Hund weg"),
            SelectChoice("lost", "Der Hund ist entlaufen"),
        ],
        validators=[required("Bitte wählen Sie einen Grund.")],
    )
    ended_on = DateField("Datum", validators=[required("Bitte geben Sie das Datum an.")])
    new_owner = TextAreaField(
        "Name und Anschrift der neuen Halterin oder des neuen Halters",
        validators=[Optional(), Length(max=500)],
        description="Nur bei Abgabe oder Verkauf.",
    )


class LostTagForm(GermanForm):
    lost_on = DateField(
        "Wann ging die Marke verloren?", validators=[required("Bitte geben Sie das Datum an.")]
    )


class ConfirmForm(GermanForm):
    """A form with nothing but its CSRF token: confirms an action."""


class DecisionForm(GermanForm):
    message = TextAreaField(
        "Begründung oder Rückfrage an die antragstellende Person",
        validators=[Optional(), Length(max=1000)],
    )


class CriterionForm(GermanForm):
    enabled = SelectField("Aktiv", choices=[SelectChoice("1", "ja"), SelectChoice("0", "nein")])
    parameter = StringField(
        "Wert (Monate)",
        validators=[Optional(), Regexp(r"^\d{1,3}$", message="Bitte eine ganze Zahl angeben.")],
    )


class RefundForm(GermanForm):
    amount = StringField(
        "Betrag in Euro",
        validators=[required()],
        render_kw={"inputmode": "decimal"},
        description="z. B. 12,50",
    )
    reason = TextAreaField("Grund der Erstattung", validators=[required(), Length(max=300)])


class ReadingForm(GermanForm):
    value = StringField(
        "Neuer Zählerstand in m³",
        validators=[
            required("Bitte geben Sie den Zählerstand an."),
            Regexp(r"^\d{1,7}$", message="Bitte nur volle Kubikmeter als Zahl angeben."),
        ],
        description="Nur die schwarzen Ziffern, ohne Nachkommastellen.",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    confirm = BooleanField("Ja, der Zählerstand ist richtig abgelesen.")
    photo = FileField(
        "Foto des Zählers (JPG oder PNG, höchstens 5 MB)",
        validators=[
            FileAllowed(["jpg", "jpeg", "png"], "Bitte laden Sie ein JPG- oder PNG-Foto hoch."),
            FileSize(PROOF_MAX_BYTES, message="Das Foto ist größer als 5 MB."),
        ],
    )


class ClerkReadingForm(GermanForm):
    meter_number = StringField(
        "Zählernummer",
        validators=[required(), Length(max=30)],
        render_kw={"autocomplete": "off", "autofocus": True},
    )
    value = StringField(
        "Zählerstand (m³)",
        validators=[
            required(),
            Regexp(r"^\d{1,7}$", message="Bitte nur volle Kubikmeter angeben."),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    period = StringField(
        "Jahr", validators=[required(), Regexp(r"^\d{4}$", message="Vierstellige Jahreszahl.")]
    )


class MeterChangeForm(GermanForm):
    old_number = StringField(
        "Nummer des ausgebauten Zählers", validators=[required(), Length(max=30)]
    )
    final_reading = StringField(
        "Endstand des ausgebauten Zählers (m³)",
        validators=[
            required(),
            Regexp(r"^\d{1,7}$", message="Bitte nur volle Kubikmeter angeben."),
        ],
    )
    new_number = StringField("Nummer des neuen Zählers", validators=[required(), Length(max=30)])
    start_reading = StringField(
        "Anfangsstand des neuen Zählers (m³)",
        validators=[
            required(),
            Regexp(r"^\d{1,7}$", message="Bitte nur volle Kubikmeter angeben."),
        ],
    )
    changed_on = DateField("Datum des Wechsels", validators=[required()])


# --------------------------------------------------------------------------- SEPA mandates

ALL_LEVIES = "alle"  # the scope choice "every claim of the person"


def scope_choices(session: Any, person: Any) -> list[SelectChoice]:
    """What a mandate may cover: everything, or one of the person's tax accounts."""
    return [
        SelectChoice(ALL_LEVIES, "alle Steuern und Gebühren"),
        *(
            SelectChoice(
                str(t.id),
                f"{KINDS[t.levy].label} (Kassenzeichen {format_kassenzeichen(t.kassenzeichen)})",
            )
            for t in tax_accounts_of(session, person)
        ),
    ]


class MandateFieldsForm(GermanForm):
    """Scope, account holder, IBAN and BIC of a SEPA mandate (the citizen's form and the
    clerk's paper-mandate form add their own fields); IBAN and BIC are checked with the core's
    check (schwifty) together with the other fields, so every mistake shows at once."""

    scope = RadioField(
        "Wofür gilt das Mandat?",
        default=ALL_LEVIES,
        validators=[required("Bitte wählen Sie, wofür das Mandat gilt.")],
    )
    account_holder = StringField(
        "Kontoinhaberin oder Kontoinhaber",
        validators=[required("Bitte geben Sie den Namen des Kontoinhabers an.")],
        render_kw={"autocomplete": "name"},
    )
    iban = StringField(
        "IBAN",
        validators=[required("Bitte geben Sie Ihre IBAN an.")],
        description="z. B. DE89 3704 0044 0532 0130 00 – Leerzeichen sind erlaubt.",
        render_kw={
            "inputmode": "text",
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
        },
    )
    bic = StringField(
        "BIC",
        description="Wir ermitteln die BIC aus der IBAN, wo das möglich ist.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )

    def validate(self, extra_validators: Any = None) -> bool:
        ok = bool(super().validate(extra_validators))
        if not self.iban.errors and not self.bic.errors:
            try:
                check_iban(self.iban.data or "", self.bic.data or None)
            except FieldErrors as exc:
                show_field_errors(self, exc.errors)
                ok = False
        return ok

    def tax_account_id(self) -> int | None:
        return None if self.scope.data == ALL_LEVIES else int(self.scope.data)
