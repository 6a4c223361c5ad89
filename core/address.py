"""Change of address from the citizen's account: an application that the review criteria send
straight through or to a clerk, and that, once approved, closes the current address the day
before the move and opens the new one (``persons.models.change_address``; the history stays)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.kernel.errors import FieldErrors as FieldErrors  # re-exported for callers
from core.kernel.errors import ValidationError
from core.kernel.months import add_months
from core.persons.models import Person, PersonKind, change_address
from core.tenancy.municipalities import Municipality
from core.workflow import applications as workflow
from core.workflow.applications import Application, CriterionSpec, criteria_for, ensure_criteria
from core.workflow.applications import (
    reject as reject,  # the common decisions, re-exported for callers
)
from core.workflow.applications import request_information as request_information

SERVICE_ADDRESS_CHANGE = "address_change"

SERVICE_LABELS = {SERVICE_ADDRESS_CHANGE: "Änderung der Anschrift"}

DEFAULT_CRITERIA = [
    CriterionSpec(
        SERVICE_ADDRESS_CHANGE,
        "outside",
        "Neue Anschrift außerhalb der Kommune (andere Postleitzahl)",
    ),
    CriterionSpec(SERVICE_ADDRESS_CHANGE, "backdated", "Umzug mehr als N Monate zurück", 3),
    CriterionSpec(SERVICE_ADDRESS_CHANGE, "business", "Konto eines Unternehmens"),
]

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


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _reasons(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    address: dict[str, str],
    valid_from: date,
    as_of: date,
) -> list[str]:
    criteria = criteria_for(session, municipality.id, SERVICE_ADDRESS_CHANGE)
    reasons = []
    c = criteria.get("outside")
    if c and c.enabled and address["postal_code"] != municipality.postal_code:
        reasons.append(c.label)
    c = criteria.get("backdated")
    if c and c.enabled and _months_between(valid_from, as_of) > (c.parameter or 0):
        reasons.append(c.label.replace(" N ", f" {c.parameter or 0} "))
    c = criteria.get("business")
    if c and c.enabled and person.kind is PersonKind.BUSINESS:
        reasons.append(c.label)
    return reasons


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
    ensure_criteria(session, municipality.id, DEFAULT_CRITERIA)
    reasons = _reasons(
        session,
        person=person,
        municipality=municipality,
        address=address,
        valid_from=valid_from,
        as_of=as_of,
    )
    return workflow.submit(
        session,
        person_id=person.id,
        municipality_id=municipality.id,
        service=SERVICE_ADDRESS_CHANGE,
        data={**address, "from": valid_from.isoformat()},
        reasons=reasons,
        as_of=as_of,
        actor=actor,
        subject_id=person.id,
        approve=lambda s, a, day, who: approve(s, a, as_of=day, actor=who),
    )


# --------------------------------------------------------------------------- carrying out


def approve(session: Session, application: Application, *, as_of: date, actor: str) -> list[Any]:
    """Carry out an address change and mark it approved; it causes no notice."""
    return workflow.approve_with(session, application, CARRY_OUT, as_of=as_of, actor=actor)


def _carry_out(
    session: Session,
    application: Application,
    person: Person,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[Any]:
    data = application.data
    address = _clean(data)
    valid_from = date.fromisoformat(data["from"])
    latest = person.addresses[-1] if person.addresses else None
    if latest is not None and valid_from <= latest.valid_from:
        # Another change was carried out in the meantime.
        raise ValidationError(
            f"Die neue Anschrift muss nach der bisherigen beginnen ({latest.valid_from:%d.%m.%Y})."
        )
    new = change_address(session, person, new=address, valid_from=valid_from, actor=actor)
    session.expire(person, ["addresses"])  # the new address is in the history from now on
    application.data = {**data, "address_id": new.id}
    return []


CARRY_OUT: dict[str, workflow.CarryOut] = {SERVICE_ADDRESS_CHANGE: _carry_out}
