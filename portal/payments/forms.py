"""The forms of paying: the SEPA mandate (the citizen's and the clerk's paper-mandate form share
its fields) and the clerk's refund of an online payment."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional

from core.kernel.errors import FieldErrors
from core.kernel.references import format_kassenzeichen
from core.ledger.kinds import KINDS
from core.payments.sepa.identifiers import check_iban
from core.payments.sepa.mandates import tax_accounts_of
from portal.form_fields import GermanForm, required
from portal.requests import show_field_errors

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


class MandateForm(MandateFieldsForm):
    """The citizen's online mandate: the shared fields and the consent."""

    consent = BooleanField(
        "Ich erteile dieses SEPA-Lastschriftmandat",
        validators=[
            required("Bitte kreuzen Sie an, dass Sie das Mandat erteilen – sonst gilt es nicht.")
        ],
    )


class RefundForm(GermanForm):
    amount = StringField(
        "Betrag in Euro",
        validators=[required()],
        render_kw={"inputmode": "decimal"},
        description="z. B. 12,50",
    )
    reason = TextAreaField("Grund der Erstattung", validators=[required(), Length(max=300)])


class PayoutAccountForm(GermanForm):
    """The account a person's credit is paid out to (the citizen's and the clerk's form)."""

    account_holder = StringField(
        "Kontoinhaber",
        validators=[
            required("Bitte geben Sie den Kontoinhaber an."),
            Length(max=70, message="Höchstens 70 Zeichen."),
        ],
        render_kw={"autocomplete": "name"},
    )
    iban = StringField(
        "IBAN",
        validators=[required("Bitte geben Sie die IBAN an."), Length(max=42)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
        description="z. B. DE02 1203 0000 0000 2020 51",
    )
    bic = StringField(
        "BIC", validators=[Optional(), Length(max=11)], description="Leer lassen: aus der IBAN."
    )
