"""The dog-tax online services (Hundemanager): register and deregister a dog, report a lost
tag, order a replacement tag — each an application that the review criteria send straight
through or to a clerk, and that, once approved, changes the tax object and re-assesses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import FieldErrors as FieldErrors  # re-exported for callers
from core.kernel.months import add_months, months_between
from core.ledger.kinds import ClaimKind
from core.levies.dog_tax.assessment import RulesCache, assess_person
from core.levies.dog_tax.models import Dog, DogStatus, EndReason, get_dog
from core.levies.dog_tax.rules import DogTaxRules
from core.levies.fee_notices import issue_fee_notice
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number
from core.workflow import applications as workflow
from core.workflow.applications import Application, CriterionSpec, criteria_for
from core.workflow.applications import (
    reject as reject,  # the common decisions, re-exported for callers
)
from core.workflow.applications import request_information as request_information

SERVICE_REGISTER = "dog_registration"
SERVICE_DEREGISTER = "dog_deregistration"
SERVICE_TAG_LOST = "dog_tag_lost"
SERVICE_TAG_REPLACEMENT = "dog_tag_replacement"

SERVICE_LABELS = {
    SERVICE_REGISTER: "Hundeanmeldung",
    SERVICE_DEREGISTER: "Hundeabmeldung",
    SERVICE_TAG_LOST: "Verlust der Hundemarke",
    SERVICE_TAG_REPLACEMENT: "Ersatzmarke",
}

DEFAULT_CRITERIA = [
    CriterionSpec(
        SERVICE_REGISTER,
        "listed_breed",
        "Rasse steht auf der Liste gefährlicher Hunde (Kampfhundeliste)",
    ),
    CriterionSpec(
        SERVICE_REGISTER, "exemption_claimed", "Steuerbefreiung oder -ermäßigung beantragt"
    ),
    CriterionSpec(SERVICE_REGISTER, "backdated", "Anmeldung mehr als N Monate rückwirkend", 3),
    CriterionSpec(SERVICE_DEREGISTER, "backdated", "Abmeldung mehr als N Monate rückwirkend", 3),
]

# Offered in the portal's breed list besides the statute's listed breeds (free text otherwise).
COMMON_BREEDS = (
    "Mischling",
    "Labrador Retriever",
    "Deutscher Schäferhund",
    "Dackel",
    "Golden Retriever",
    "Jack Russell Terrier",
    "Border Collie",
    "Beagle",
    "Pudel",
    "Französische Bulldogge",
    "Chihuahua",
    "Yorkshire Terrier",
    "Australian Shepherd",
    "Berner Sennenhund",
    "Boxer",
    "Havaneser",
    "Malteser",
    "Mops",
    "Shih Tzu",
    "Cocker Spaniel",
)


def rules_on(session: Session, municipality_id: int, day: date) -> DogTaxRules:
    """The dog-tax rules in force on ``day``."""
    return RulesCache(session, municipality_id).for_year(day.year)(day.year * 12 + day.month - 1)


def breed_choices(rules: DogTaxRules) -> list[str]:
    return sorted(set(COMMON_BREEDS) | set(rules.listed_breeds), key=str.lower)


# How far in the future a date may lie (an announced move, a dog picked up next week).
FUTURE_LIMIT_DAYS = 31
CHIP_RE = re.compile(r"^\d{15}$")  # ISO 11784/11785 transponder: 15 digits


@dataclass(frozen=True)
class Registration:
    name: str
    breed: str
    born_on: date | None
    acquired_on: date
    chip_number: str | None
    exemption_code: str | None = None
    exemption_note: str = ""
    proof_document_id: int | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "breed": self.breed,
            "born_on": self.born_on.isoformat() if self.born_on else None,
            "acquired_on": self.acquired_on.isoformat(),
            "chip_number": self.chip_number,
            "exemption_code": self.exemption_code,
            "exemption_note": self.exemption_note,
            "proof_document_id": self.proof_document_id,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Registration:
        return cls(
            name=data["name"],
            breed=data["breed"],
            born_on=date.fromisoformat(data["born_on"]) if data["born_on"] else None,
            acquired_on=date.fromisoformat(data["acquired_on"]),
            chip_number=data["chip_number"],
            exemption_code=data["exemption_code"],
            exemption_note=data.get("exemption_note", ""),
            proof_document_id=data.get("proof_document_id"),
        )


@dataclass(frozen=True)
class Deregistration:
    dog_id: int
    reason: EndReason
    ended_on: date
    new_owner: str = ""  # name and address of the new owner after a sale

    def to_data(self) -> dict[str, Any]:
        return {
            "dog_id": self.dog_id,
            "reason": self.reason.value,
            "ended_on": self.ended_on.isoformat(),
            "new_owner": self.new_owner,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Deregistration:
        return cls(
            dog_id=int(data["dog_id"]),
            reason=EndReason(data["reason"]),
            ended_on=date.fromisoformat(data["ended_on"]),
            new_owner=data.get("new_owner", ""),
        )


def check_registration(reg: Registration, rules: DogTaxRules, as_of: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    limit = as_of + timedelta(days=FUTURE_LIMIT_DAYS)
    if not reg.name.strip():
        errors["name"] = "Bitte geben Sie den Namen des Hundes an."
    if not reg.breed.strip():
        errors["breed"] = "Bitte geben Sie die Rasse an (oder „Mischling“)."
    if reg.born_on and reg.born_on > as_of:
        errors["born_on"] = "Das Geburtsdatum darf nicht in der Zukunft liegen."
    if reg.acquired_on > limit:
        errors["acquired_on"] = (
            f"Das Datum darf höchstens {FUTURE_LIMIT_DAYS} Tage in der Zukunft liegen."
        )
    elif reg.born_on and reg.acquired_on < reg.born_on:
        errors["acquired_on"] = "Der Hund kann nicht vor seiner Geburt aufgenommen worden sein."
    elif reg.acquired_on < as_of - timedelta(days=10 * 366):
        errors["acquired_on"] = "Bitte prüfen Sie das Datum: es liegt mehr als zehn Jahre zurück."
    if reg.chip_number and not CHIP_RE.match(reg.chip_number):
        errors["chip_number"] = "Die Chipnummer hat genau 15 Ziffern."
    if reg.exemption_code and reg.exemption_code not in rules.exemptions:
        errors["exemption_code"] = "Diese Befreiung sieht die Satzung nicht vor."
    return errors


def check_deregistration(dereg: Deregistration, dog: Dog, as_of: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if dog.status is not DogStatus.ACTIVE:
        errors["ended_on"] = "Dieser Hund ist bereits abgemeldet."
    elif dereg.ended_on < dog.acquired_on:
        errors["ended_on"] = (
            f"Die Abmeldung kann nicht vor der Anmeldung liegen "
            f"(Hund gehalten seit {dog.acquired_on:%d.%m.%Y})."
        )
    elif dereg.ended_on > as_of + timedelta(days=FUTURE_LIMIT_DAYS):
        errors["ended_on"] = (
            f"Das Datum darf höchstens {FUTURE_LIMIT_DAYS} Tage in der Zukunft liegen."
        )
    if dereg.reason is EndReason.SOLD and not dereg.new_owner.strip():
        errors["new_owner"] = (
            "Bitte geben Sie Name und Anschrift der neuen Halterin oder des neuen Halters an."
        )
    return errors


def review_reasons_registration(
    session: Session, municipality_id: int, reg: Registration, rules: DogTaxRules, as_of: date
) -> list[str]:
    criteria = criteria_for(session, municipality_id, SERVICE_REGISTER)
    reasons = []
    c = criteria.get("listed_breed")
    if c and c.enabled and rules.is_listed(reg.breed):
        reasons.append(c.label)
    c = criteria.get("exemption_claimed")
    if c and c.enabled and reg.exemption_code:
        reasons.append(c.label.replace("N", str(c.parameter)) if c.parameter else c.label)
    c = criteria.get("backdated")
    if c and c.enabled and months_between(reg.acquired_on, as_of) > (c.parameter or 0):
        reasons.append(c.label.replace(" N ", f" {c.parameter} "))
    return reasons


def review_reasons_deregistration(
    session: Session, municipality_id: int, dereg: Deregistration, as_of: date
) -> list[str]:
    c = criteria_for(session, municipality_id, SERVICE_DEREGISTER).get("backdated")
    if c and c.enabled and months_between(dereg.ended_on, as_of) > (c.parameter or 0):
        return [c.label.replace(" N ", f" {c.parameter} ")]
    return []


def submit(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    service: str,
    data: dict[str, Any],
    reasons: list[str],
    as_of: date,
    actor: str,
    subject_id: int | None = None,
) -> Application:
    """Record an application; without review reasons it is carried out at once."""
    return workflow.submit(
        session,
        person_id=person.id,
        municipality_id=municipality.id,
        service=service,
        data=data,
        reasons=reasons,
        as_of=as_of,
        actor=actor,
        subject_id=subject_id,
        approve=lambda s, a, day, who: approve(s, a, as_of=day, actor=who),
    )


def submit_registration(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    registration: Registration,
    as_of: date,
    actor: str,
) -> Application:
    rules = rules_on(session, municipality.id, as_of)
    errors = check_registration(registration, rules, as_of)
    if errors:
        raise FieldErrors(errors)
    reasons = review_reasons_registration(session, municipality.id, registration, rules, as_of)
    return submit(
        session,
        person=person,
        municipality=municipality,
        service=SERVICE_REGISTER,
        data=registration.to_data(),
        reasons=reasons,
        as_of=as_of,
        actor=actor,
    )


def submit_deregistration(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    deregistration: Deregistration,
    as_of: date,
    actor: str,
) -> Application:
    dog = get_dog(session, municipality.id, deregistration.dog_id, person_id=person.id)
    errors = check_deregistration(deregistration, dog, as_of)
    if errors:
        raise FieldErrors(errors)
    reasons = review_reasons_deregistration(session, municipality.id, deregistration, as_of)
    return submit(
        session,
        person=person,
        municipality=municipality,
        service=SERVICE_DEREGISTER,
        data=deregistration.to_data(),
        reasons=reasons,
        as_of=as_of,
        actor=actor,
        subject_id=dog.id,
    )


def report_lost_tag(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    dog_id: int,
    lost_on: date,
    as_of: date,
    actor: str,
) -> Application:
    dog = get_dog(session, municipality.id, dog_id, person_id=person.id)
    if dog.status is not DogStatus.ACTIVE:
        raise FieldErrors({"lost_on": "Dieser Hund ist abgemeldet."})
    if lost_on > as_of:
        raise FieldErrors({"lost_on": "Das Datum darf nicht in der Zukunft liegen."})
    return submit(
        session,
        person=person,
        municipality=municipality,
        service=SERVICE_TAG_LOST,
        data={"dog_id": dog.id, "lost_on": lost_on.isoformat()},
        reasons=[],
        as_of=as_of,
        actor=actor,
        subject_id=dog.id,
    )


def order_replacement_tag(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    dog_id: int,
    as_of: date,
    actor: str,
) -> Application:
    dog = get_dog(session, municipality.id, dog_id, person_id=person.id)
    if dog.status is not DogStatus.ACTIVE:
        raise FieldErrors({"dog_id": "Dieser Hund ist abgemeldet."})
    return submit(
        session,
        person=person,
        municipality=municipality,
        service=SERVICE_TAG_REPLACEMENT,
        data={"dog_id": dog.id},
        reasons=[],
        as_of=as_of,
        actor=actor,
        subject_id=dog.id,
    )


def approve(session: Session, application: Application, *, as_of: date, actor: str) -> list[Notice]:
    """Carry out an application and mark it approved; returns the notices it caused."""
    return workflow.approve_with(session, application, CARRY_OUT, as_of=as_of, actor=actor)


def _reassess(
    session: Session,
    person: Person,
    municipality: Municipality,
    from_year: int,
    as_of: date,
    actor: str,
) -> list[Notice]:
    rules = RulesCache(session, municipality.id)
    return workflow.reassess_person(
        assess_person, rules, session, person, municipality, from_year, as_of, actor
    )


def _carry_out_registration(
    session: Session,
    application: Application,
    person: Person,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[Notice]:
    reg = Registration.from_data(application.data)
    rules = rules_on(session, municipality.id, as_of)
    dog = Dog(
        municipality_id=municipality.id,
        person_id=person.id,
        name=reg.name.strip(),
        breed=reg.breed.strip(),
        born_on=reg.born_on,
        acquired_on=reg.acquired_on,
        chip_number=reg.chip_number or None,
        dangerous=rules.is_listed(reg.breed),
        exemption_code=reg.exemption_code or None,
        tag_number=next_number(session, municipality.id, "dog_tag"),
        status=DogStatus.ACTIVE,
    )
    session.add(dog)
    session.flush()
    application.subject_id = dog.id
    audit.record(
        session,
        actor=actor,
        action="dog.registered",
        obj=dog,
        municipality_id=municipality.id,
        after={
            "tag_number": dog.tag_number,
            "dangerous": dog.dangerous,
            "exemption_code": dog.exemption_code,
            "application_id": application.id,
        },
    )
    return _reassess(session, person, municipality, reg.acquired_on.year, as_of, actor)


def _carry_out_deregistration(
    session: Session,
    application: Application,
    person: Person,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[Notice]:
    dereg = Deregistration.from_data(application.data)
    dog = get_dog(session, municipality.id, dereg.dog_id, person_id=person.id)
    errors = check_deregistration(dereg, dog, as_of)  # the dog may have changed since
    if errors:
        raise FieldErrors(errors)
    dog.status, dog.ended_on, dog.end_reason = DogStatus.ENDED, dereg.ended_on, dereg.reason
    audit.record(
        session,
        actor=actor,
        action="dog.deregistered",
        obj=dog,
        municipality_id=municipality.id,
        after={
            "ended_on": dereg.ended_on.isoformat(),
            "reason": dereg.reason.value,
            "application_id": application.id,
        },
    )
    return _reassess(session, person, municipality, dereg.ended_on.year, as_of, actor)


def _carry_out_tag_lost(
    session: Session,
    application: Application,
    person: Person,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[Notice]:
    dog = get_dog(session, municipality.id, int(application.data["dog_id"]), person_id=person.id)
    dog.tag_lost_on = date.fromisoformat(application.data["lost_on"])
    audit.record(
        session,
        actor=actor,
        action="dog.tag_lost",
        obj=dog,
        municipality_id=municipality.id,
        after={"tag_number": dog.tag_number},
    )
    return []


def _carry_out_replacement(
    session: Session,
    application: Application,
    person: Person,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[Notice]:
    dog = get_dog(session, municipality.id, int(application.data["dog_id"]), person_id=person.id)
    rules = rules_on(session, municipality.id, as_of)
    old = dog.tag_number
    dog.tag_number = next_number(session, municipality.id, "dog_tag")
    dog.tag_lost_on = None
    issued: list[Notice] = []
    if rules.replacement_tag_fee_cents:  # the statute's fee is owed by a fee notice
        notice, _ = issue_fee_notice(
            session,
            person=person,
            municipality=municipality,
            kind=ClaimKind.ADMIN_FEE,
            amount_cents=rules.replacement_tag_fee_cents,
            due_date=add_months(as_of, 1),
            description=f"Ersatzmarke Nr. {dog.tag_number} für {dog.name}",
            title="Gebührenbescheid über eine Ersatz-Hundemarke",
            intro=(
                f"Für die Ausgabe der Ersatzmarke Nr. {dog.tag_number} für Ihren Hund "
                f"„{dog.name}“ (bisherige Marke Nr. {old}) wird die in der Satzung bestimmte "
                "Gebühr wie folgt festgesetzt."
            ),
            legal_basis=rules.legal_basis or rules.source,
            remedy=rules.remedy,
            as_of=as_of,
            actor=actor,
        )
        issued.append(notice)
    application.data = {**application.data, "new_tag_number": dog.tag_number}
    audit.record(
        session,
        actor=actor,
        action="dog.tag_replaced",
        obj=dog,
        municipality_id=municipality.id,
        before={"tag_number": old},
        after={"tag_number": dog.tag_number},
    )
    return issued


CARRY_OUT: dict[str, workflow.CarryOut] = {
    SERVICE_REGISTER: _carry_out_registration,
    SERVICE_DEREGISTER: _carry_out_deregistration,
    SERVICE_TAG_LOST: _carry_out_tag_lost,
    SERVICE_TAG_REPLACEMENT: _carry_out_replacement,
}
