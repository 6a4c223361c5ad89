"""The dog-tax online services (Hundemanager): register and deregister a dog, report a lost
tag, order a replacement tag — each an application on the one pipeline (core.workflow.pipeline):
the review criteria send it straight through or to a clerk; once approved it changes the tax
object and the dog tax is re-assessed."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import FieldErrors
from core.kernel.months import add_months
from core.ledger.kinds import ClaimKind
from core.levies.dog_tax.assessment import RulesCache, assess_person
from core.levies.dog_tax.models import Dog, DogStatus, EndReason, get_dog
from core.levies.dog_tax.rules import DogTaxRules
from core.levies.fee_notices import issue_fee_notice
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number
from core.workflow.applications import Application
from core.workflow.criteria import BACKDATED, CriterionSpec
from core.workflow.pipeline import Approved, CarriedOut, OnlineService, Reassessment, Submission
from core.workflow.plausibility import too_far_ahead, too_long_ago

SERVICE_REGISTER = "dog_registration"
SERVICE_DEREGISTER = "dog_deregistration"
SERVICE_TAG_LOST = "dog_tag_lost"
SERVICE_TAG_REPLACEMENT = "dog_tag_replacement"

# Offered in the portal's breed list besides the statute's listed breeds (free text otherwise).
# fmt: off
COMMON_BREEDS = (
    "Mischling", "Labrador Retriever", "Deutscher Schäferhund", "Dackel", "Golden Retriever",
    "Jack Russell Terrier", "Border Collie", "Beagle", "Pudel", "Französische Bulldogge",
    "Chihuahua", "Yorkshire Terrier", "Australian Shepherd", "Berner Sennenhund", "Boxer",
    "Havaneser", "Malteser", "Mops", "Shih Tzu", "Cocker Spaniel",
)
# fmt: on


def rules_on(session: Session, municipality_id: int, day: date) -> DogTaxRules:
    """The dog-tax rules in force on ``day``."""
    return RulesCache(session, municipality_id).on(day)


def breed_choices(rules: DogTaxRules) -> list[str]:
    return sorted(set(COMMON_BREEDS) | set(rules.listed_breeds), key=str.lower)


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
            **asdict(self),
            "born_on": self.born_on.isoformat() if self.born_on else None,
            "acquired_on": self.acquired_on.isoformat(),
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
            **asdict(self),
            "reason": self.reason.value,
            "ended_on": self.ended_on.isoformat(),
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
    if not reg.name.strip():
        errors["name"] = "Bitte geben Sie den Namen des Hundes an."
    if not reg.breed.strip():
        errors["breed"] = "Bitte geben Sie die Rasse an (oder „Mischling“)."
    if reg.born_on and reg.born_on > as_of:
        errors["born_on"] = "Das Geburtsdatum darf nicht in der Zukunft liegen."
    if ahead := too_far_ahead(reg.acquired_on, as_of):
        errors["acquired_on"] = ahead
    elif reg.born_on and reg.acquired_on < reg.born_on:
        errors["acquired_on"] = "Der Hund kann nicht vor seiner Geburt aufgenommen worden sein."
    elif long_ago := too_long_ago(reg.acquired_on, as_of):
        errors["acquired_on"] = long_ago
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
    elif ahead := too_far_ahead(dereg.ended_on, as_of):
        errors["ended_on"] = ahead
    if dereg.reason is EndReason.SOLD and not dereg.new_owner.strip():
        errors["new_owner"] = (
            "Bitte geben Sie Name und Anschrift der neuen Halterin oder des neuen Halters an."
        )
    return errors


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
    submission = Submission(
        data=registration.to_data(),
        takes_effect_on=registration.acquired_on,
        flags={
            "listed_breed": rules.is_listed(registration.breed),
            "exemption_claimed": bool(registration.exemption_code),
        },
    )
    return REGISTER.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
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
    submission = Submission(
        data=deregistration.to_data(), subject_id=dog.id, takes_effect_on=deregistration.ended_on
    )
    return DEREGISTER.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
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
    submission = Submission(
        data={"dog_id": dog.id, "lost_on": lost_on.isoformat()}, subject_id=dog.id
    )
    return TAG_LOST.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
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
    submission = Submission(data={"dog_id": dog.id}, subject_id=dog.id)
    return TAG_REPLACEMENT.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
    )


# --------------------------------------------------------------------------- carrying out


def _carry_out_registration(session: Session, approved: Approved) -> CarriedOut:
    reg = Registration.from_data(approved.application.data)
    municipality_id = approved.municipality.id
    rules = rules_on(session, municipality_id, approved.as_of)
    dog = Dog(
        municipality_id=municipality_id,
        person_id=approved.person.id,
        name=reg.name.strip(),
        breed=reg.breed.strip(),
        born_on=reg.born_on,
        acquired_on=reg.acquired_on,
        chip_number=reg.chip_number or None,
        dangerous=rules.is_listed(reg.breed),
        exemption_code=reg.exemption_code or None,
        tag_number=next_number(session, municipality_id, "dog_tag"),
        status=DogStatus.ACTIVE,
    )
    session.add(dog)
    session.flush()
    approved.application.subject_id = dog.id
    audit.record(
        session,
        actor=approved.actor,
        action="dog.registered",
        obj=dog,
        municipality_id=municipality_id,
        after={
            "tag_number": dog.tag_number,
            "dangerous": dog.dangerous,
            "exemption_code": dog.exemption_code,
            "application_id": approved.application.id,
        },
    )
    return CarriedOut(reassess_from=reg.acquired_on.year)


def _carry_out_deregistration(session: Session, approved: Approved) -> CarriedOut:
    dereg = Deregistration.from_data(approved.application.data)
    dog = _dog(session, approved, dereg.dog_id)
    errors = check_deregistration(dereg, dog, approved.as_of)  # the dog may have changed since
    if errors:
        raise FieldErrors(errors)
    dog.status, dog.ended_on, dog.end_reason = DogStatus.ENDED, dereg.ended_on, dereg.reason
    audit.record(
        session,
        actor=approved.actor,
        action="dog.deregistered",
        obj=dog,
        municipality_id=dog.municipality_id,
        after={
            "ended_on": dereg.ended_on.isoformat(),
            "reason": dereg.reason.value,
            "application_id": approved.application.id,
        },
    )
    return CarriedOut(reassess_from=dereg.ended_on.year)


def _carry_out_tag_lost(session: Session, approved: Approved) -> CarriedOut:
    dog = _dog(session, approved, int(approved.application.data["dog_id"]))
    dog.tag_lost_on = date.fromisoformat(approved.application.data["lost_on"])
    audit.record(
        session,
        actor=approved.actor,
        action="dog.tag_lost",
        obj=dog,
        municipality_id=dog.municipality_id,
        after={"tag_number": dog.tag_number},
    )
    return CarriedOut()


def _carry_out_replacement(session: Session, approved: Approved) -> CarriedOut:
    application, municipality, as_of = approved.application, approved.municipality, approved.as_of
    dog = _dog(session, approved, int(application.data["dog_id"]))
    rules = rules_on(session, municipality.id, as_of)
    old = dog.tag_number
    dog.tag_number = next_number(session, municipality.id, "dog_tag")
    dog.tag_lost_on = None
    issued: list[Notice] = []
    if rules.replacement_tag_fee_cents:  # the statute's fee is owed by a fee notice
        notice, _ = issue_fee_notice(
            session,
            person=approved.person,
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
            actor=approved.actor,
        )
        issued.append(notice)
    application.data = {**application.data, "new_tag_number": dog.tag_number}
    audit.record(
        session,
        actor=approved.actor,
        action="dog.tag_replaced",
        obj=dog,
        municipality_id=municipality.id,
        before={"tag_number": old},
        after={"tag_number": dog.tag_number},
    )
    return CarriedOut(notices=issued)


def _dog(session: Session, approved: Approved, dog_id: int) -> Dog:
    return get_dog(session, approved.municipality.id, dog_id, person_id=approved.person.id)


# --------------------------------------------------------------------------- the services

DOG_TAX = Reassessment(assess_person, RulesCache)

REGISTER = OnlineService(
    SERVICE_REGISTER,
    "Hundeanmeldung",
    _carry_out_registration,
    criteria=(
        CriterionSpec(
            SERVICE_REGISTER,
            "listed_breed",
            "Rasse steht auf der Liste gefährlicher Hunde (Kampfhundeliste)",
        ),
        CriterionSpec(
            SERVICE_REGISTER, "exemption_claimed", "Steuerbefreiung oder -ermäßigung beantragt"
        ),
        CriterionSpec(SERVICE_REGISTER, BACKDATED, "Anmeldung mehr als N Monate rückwirkend", 3),
    ),
    levy=DOG_TAX,
)
DEREGISTER = OnlineService(
    SERVICE_DEREGISTER,
    "Hundeabmeldung",
    _carry_out_deregistration,
    criteria=(
        CriterionSpec(SERVICE_DEREGISTER, BACKDATED, "Abmeldung mehr als N Monate rückwirkend", 3),
    ),
    levy=DOG_TAX,
)
TAG_LOST = OnlineService(SERVICE_TAG_LOST, "Verlust der Hundemarke", _carry_out_tag_lost)
TAG_REPLACEMENT = OnlineService(SERVICE_TAG_REPLACEMENT, "Ersatzmarke", _carry_out_replacement)

SERVICES = (REGISTER, DEREGISTER, TAG_LOST, TAG_REPLACEMENT)
SERVICE_LABELS = {service.code: service.label for service in SERVICES}
DEFAULT_CRITERIA = [spec for service in SERVICES for spec in service.criteria]
