"""The forms of acting for others (CSRF from Flask-WTF on each)."""

from __future__ import annotations

from wtforms import DateField, HiddenField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import Email, Length, Optional

from core.representation.models import RepresentativeRole, Scope
from portal.form_fields import GermanForm, required

EMAIL_MESSAGE = "Bitte geben Sie eine gültige E-Mail-Adresse an."


class SwitchForm(GermanForm):
    person = SelectField("Handeln für", choices=[], validate_choice=True)
    next = HiddenField()


class InviteForm(GermanForm):
    email = StringField(
        "E-Mail-Adresse der Person",
        validators=[required(), Length(max=254), Email(message=EMAIL_MESSAGE)],
        description="An diese Adresse geht die Einladung; sie gilt 7 Tage.",
    )
    role = RadioField(
        "Rolle",
        choices=[SelectChoice(r.value, r.label) for r in RepresentativeRole],
        default=RepresentativeRole.READ_ONLY.value,
        validators=[required("Bitte wählen Sie eine Rolle.")],
    )


class RoleForm(GermanForm):
    role = SelectField(
        "Rolle", choices=[SelectChoice(r.value, r.label) for r in RepresentativeRole]
    )


ROLE_HINTS = {
    RepresentativeRole.ADMIN: "Verwaltung: alles, auch Vertreter und Vollmachten verwalten",
    RepresentativeRole.ACCOUNTING: "Buchhaltung: Forderungen sehen und bezahlen, Mandate erteilen",
    RepresentativeRole.READ_ONLY: "Nur lesen: Forderungen, Bescheide und Zahlungen ansehen",
}


class AttorneyForm(GermanForm):
    agent_email = StringField(
        "E-Mail-Adresse der bevollmächtigten Person",
        validators=[required(), Length(max=254), Email(message=EMAIL_MESSAGE)],
    )
    scope = RadioField(
        "Umfang",
        choices=[SelectChoice(s.value, s.label) for s in Scope],
        default=Scope.VIEW.value,
        validators=[required("Bitte wählen Sie den Umfang.")],
    )
    valid_from = DateField("Gültig ab", validators=[required("Bitte geben Sie den Beginn an.")])
    valid_until = DateField(
        "Gültig bis (einschließlich)",
        validators=[Optional()],
        description="Leer lassen: gilt bis zum Widerruf.",
    )
