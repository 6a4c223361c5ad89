"""Change of address from the citizen's account: an application on the one pipeline
(core.workflow.pipeline) that the review criteria send straight through or to a clerk, and that,
once approved, closes the current address the day before the move and opens the new one
(``persons.models.change_address``; the history stays)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session

from core.kernel.errors import FieldErrors, ValidationError
from core.kernel.months import add_months
from core.persons.models import Person, PersonKind, change_address
from core.tenancy.municipalities import Municipality
from core.workflow.applications import Application
from core.workflow.criteria import BACKDATED, CriterionSpec
from core.workflow.pipeline import Approved, CarriedOut, OnlineService, Submission

SERVICE_ADDRESS_CHANGE = "address_change"

FUTURE_LIMIT_MONTHS = 3  # an announced move may lie at most this far ahead
ADDRESS_FIELDS = ("street", "house_number", "postal_code", "city")
_MAX_LENGTHS = {"street": 120, "house_number": 12, "city": 80}
_EMPTY = {
    "street": "Bitte geben Sie die Straße an.",
    "house_number": "Bitte geben Sie die Hausnummer an.",
    "postal_code": "Bitte geben Sie die Postleitzahl an.",
    "city": "Bitte geben Sie den Ort an.",
}
_POSTAL_CODE = re.compile(r"^\d{5}$")


def _clean(new: dict[str, str]) -> dict[str, str]:
    return {name: " ".join((new.get(name) or "").split()) for name in ADDRESS_FIELDS}


def _errors(
    person: Person, address: dict[str, str], valid_from: date, as_of: date
) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in ADDRESS_FIELDS:
        value = address[name]
        if not value:
            errors[name] = _EMPTY[name]
        elif name in _MAX_LENGTHS and len(value) > _MAX_LENGTHS[name]:
            errors[name] = f"Bitte höchstens {_MAX_LENGTHS[name]} Zeichen."
    if "postal_code" not in errors and not _POSTAL_CODE.match(address["postal_code"]):
        errors["postal_code"] = "Die Postleitzahl hat fünf Ziffern."
    latest = person.addresses[-1] if person.addresses else None
    if valid_from > add_months(as_of, FUTURE_LIMIT_MONTHS):
        errors["valid_from"] = (
            f"Das Datum darf höchstens {FUTURE_LIMIT_MONTHS} Monate in der Zukunft liegen."
        )
    elif latest is not None and valid_from <= latest.valid_from:
        errors["valid_from"] = (
            "Das Datum muss nach dem Beginn Ihrer bisherigen Anschrift "
            f"({latest.valid_from:%d.%m.%Y}) liegen."
        )
    if (
        not errors
        and latest is not None
        and all(getattr(latest, name) == address[name] for name in ADDRESS_FIELDS)
    ):
        errors["street"] = "Das ist bereits Ihre Anschrift."
    return errors


def submit_address_change(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    new: dict[str, str],
    valid_from: date,
    as_of: date,
    actor: str,
) -> Application:
    """Record the citizen's new address from ``valid_from`` (the day of the move).

    Raises FieldErrors (keys ``street``, ``house_number``, ``postal_code``, ``city``,
    ``valid_from``) before anything is saved.
    """
    address = _clean(new)
    errors = _errors(person, address, valid_from, as_of)
    if errors:
        raise FieldErrors(errors)
    submission = Submission(
        data={**address, "from": valid_from.isoformat()},
        subject_id=person.id,
        takes_effect_on=valid_from,
        flags={
            "outside": address["postal_code"] != municipality.postal_code,
            "business": person.kind is PersonKind.BUSINESS,
        },
    )
    return ADDRESS_CHANGE.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
    )


def _carry_out(session: Session, approved: Approved) -> CarriedOut:
    application, person = approved.application, approved.person
    data = application.data
    address = _clean(data)
    valid_from = date.fromisoformat(data["from"])
    latest = person.addresses[-1] if person.addresses else None
    if latest is not None and valid_from <= latest.valid_from:
        # Another change was carried out in the meantime.
        raise ValidationError(
            f"Die neue Anschrift muss nach der bisherigen beginnen ({latest.valid_from:%d.%m.%Y})."
        )
    new = change_address(session, person, new=address, valid_from=valid_from, actor=approved.actor)
    session.expire(person, ["addresses"])  # the new address is in the history from now on
    application.data = {**data, "address_id": new.id}
    return CarriedOut()  # an address change causes no notice


ADDRESS_CHANGE = OnlineService(
    SERVICE_ADDRESS_CHANGE,
    "Änderung der Anschrift",
    _carry_out,
    criteria=(
        CriterionSpec(
            SERVICE_ADDRESS_CHANGE,
            "outside",
            "Neue Anschrift außerhalb der Kommune (andere Postleitzahl)",
        ),
        CriterionSpec(SERVICE_ADDRESS_CHANGE, BACKDATED, "Umzug mehr als N Monate zurück", 3),
        CriterionSpec(SERVICE_ADDRESS_CHANGE, "business", "Konto eines Unternehmens"),
    ),
    criteria_on_first_use=True,
)
SERVICES = (ADDRESS_CHANGE,)
DEFAULT_CRITERIA = list(ADDRESS_CHANGE.criteria)
