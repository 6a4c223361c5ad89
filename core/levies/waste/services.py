"""The waste online services: register a bin, change its size or rhythm, report a damaged bin
(swap) and deregister a bin — each an application on the one pipeline (core.workflow.pipeline):
the review criteria send it straight through or to a clerk; once approved it changes the bins,
gives the depot its work orders and the waste fees are re-assessed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.errors import FieldErrors, IllegalTransition
from core.levies.waste.assessment import RulesCache, assess_person
from core.levies.waste.models import (
    WasteBin,
    WasteProperty,
    WorkOrder,
    WorkOrderKind,
    WorkOrderStatus,
    bins_of,
    get_bin,
    get_property,
)
from core.levies.waste.rules import RHYTHMS, WasteFeeRules
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number
from core.workflow.applications import Application
from core.workflow.criteria import BACKDATED, CriterionSpec
from core.workflow.pipeline import Approved, CarriedOut, OnlineService, Reassessment, Submission
from core.workflow.plausibility import too_far_ahead, too_long_ago

SERVICE_REGISTER = "bin_registration"
SERVICE_CHANGE = "bin_change"
SERVICE_SWAP = "bin_swap"
SERVICE_DEREGISTER = "bin_deregistration"
BELOW_MINIMUM = "below_minimum"  # the review criterion of the bins' volume per resident


def rules_on(session: Session, municipality_id: int, day: date) -> WasteFeeRules:
    return RulesCache(session, municipality_id).on(day)


def _active_on(bins: list[WasteBin], day: date) -> list[WasteBin]:
    return [b for b in bins if b.start <= day and (b.end is None or b.end >= day)]


def _check_date(day: date, field: str, as_of: date, not_before: date, what: str) -> dict[str, str]:
    if ahead := too_far_ahead(day, as_of):
        return {field: ahead}
    if day < not_before:
        return {field: f"Das Datum kann nicht vor {what} ({not_before:%d.%m.%Y}) liegen."}
    if long_ago := too_long_ago(day, as_of):
        return {field: long_ago}
    return {}


def _check_size(litres: int, rhythm: str, rules: WasteFeeRules) -> dict[str, str]:
    if rhythm not in RHYTHMS:
        return {"rhythm": "Bitte wählen Sie einen Abfuhrrhythmus."}
    if (litres, rhythm) not in rules.bin_fees_month_cents:
        return {
            "litres": f"Für {litres} Liter, {RHYTHMS[rhythm]}, sieht die Satzung keinen "
            "Behälter vor."
        }
    return {}


def _submission(
    data: dict[str, Any],
    subject_id: int,
    day: date,
    rules: WasteFeeRules,
    prop: WasteProperty,
    bins_after: list[tuple[int, str]],
) -> Submission:
    """What the criteria judge: the day of the change and the bins the property has after it."""
    minimum = rules.min_litres_per_resident_week
    return Submission(
        data=data,
        subject_id=subject_id,
        takes_effect_on=day,
        flags={BELOW_MINIMUM: rules.below_minimum(prop.residents, bins_after)},
        details={BELOW_MINIMUM: f"{minimum} l"} if minimum else {},
    )


@dataclass(frozen=True)
class BinRegistration:
    property_id: int
    litres: int
    rhythm: str
    start: date


def submit_registration(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    registration: BinRegistration,
    as_of: date,
    actor: str,
) -> Application:
    prop = get_property(session, municipality.id, registration.property_id, person_id=person.id)
    rules = rules_on(session, municipality.id, as_of)
    errors = _check_size(registration.litres, registration.rhythm, rules)
    errors.update(
        _check_date(
            registration.start, "start", as_of, prop.liable_from, "dem Beginn der Gebührenpflicht"
        )
    )
    if errors:
        raise FieldErrors(errors)
    data = {**asdict(registration), "start": registration.start.isoformat()}
    new = (registration.litres, registration.rhythm)
    after = [*_in_use(session, prop.id, registration.start), new]
    submission = _submission(data, prop.id, registration.start, rules, prop, after)
    return REGISTER.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
    )


def _bin_in_use(waste_bin: WasteBin, field: str) -> dict[str, str]:
    if waste_bin.end is not None:
        return {field: "Dieser Behälter ist bereits abgemeldet."}
    return {}


def submit_change(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    bin_id: int,
    litres: int,
    rhythm: str,
    change_from: date,
    as_of: date,
    actor: str,
) -> Application:
    """Another size or rhythm from ``change_from``: the bin is exchanged on that day."""
    waste_bin = get_bin(session, municipality.id, bin_id, person_id=person.id)
    prop = get_property(session, municipality.id, waste_bin.property_id)
    rules = rules_on(session, municipality.id, as_of)
    errors = _bin_in_use(waste_bin, "change_from") or _check_size(litres, rhythm, rules)
    if not errors and (litres, rhythm) == (waste_bin.litres, waste_bin.rhythm):
        errors = {"litres": "Bitte wählen Sie eine andere Größe oder einen anderen Rhythmus."}
    if "change_from" not in errors:
        errors.update(
            _check_date(
                change_from,
                "change_from",
                as_of,
                waste_bin.start + timedelta(days=1),
                "dem Tag nach der Lieferung des Behälters",
            )
        )
    if errors:
        raise FieldErrors(errors)
    data = {"bin_id": waste_bin.id, "litres": litres, "rhythm": rhythm}
    data["from"] = change_from.isoformat()
    after = [*_in_use(session, prop.id, change_from, without=waste_bin), (litres, rhythm)]
    submission = _submission(data, waste_bin.id, change_from, rules, prop, after)
    return CHANGE.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
    )


def report_damaged(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    bin_id: int,
    note: str,
    as_of: date,
    actor: str,
) -> Application:
    """A damaged bin: the depot swaps it; the fees do not change."""
    waste_bin = get_bin(session, municipality.id, bin_id, person_id=person.id)
    errors = _bin_in_use(waste_bin, "note")
    if len(note) > 500:
        errors["note"] = "Bitte fassen Sie sich kürzer (höchstens 500 Zeichen)."
    if errors:
        raise FieldErrors(errors)
    submission = Submission(
        data={"bin_id": waste_bin.id, "note": note.strip()}, subject_id=waste_bin.id
    )
    return SWAP.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
    )


def submit_deregistration(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    bin_id: int,
    end: date,
    as_of: date,
    actor: str,
) -> Application:
    """The bin is taken away on ``end`` (its last day in use)."""
    waste_bin = get_bin(session, municipality.id, bin_id, person_id=person.id)
    prop = get_property(session, municipality.id, waste_bin.property_id)
    rules = rules_on(session, municipality.id, as_of)
    errors = _bin_in_use(waste_bin, "end") or _check_date(
        end, "end", as_of, waste_bin.start, "der Lieferung des Behälters"
    )
    if errors:
        raise FieldErrors(errors)
    data = {"bin_id": waste_bin.id, "end": end.isoformat()}
    after = _in_use(session, prop.id, end + timedelta(days=1), without=waste_bin)
    submission = _submission(data, waste_bin.id, end, rules, prop, after)
    return DEREGISTER.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
    )


def _in_use(
    session: Session, property_id: int, day: date, *, without: WasteBin | None = None
) -> list[tuple[int, str]]:
    """Size and rhythm of the property's bins in use on ``day`` (but ``without``)."""
    return [
        (b.litres, b.rhythm)
        for b in _active_on(bins_of(session, [property_id]), day)
        if without is None or b.id != without.id
    ]


# --------------------------------------------------------------------------- carrying out


def _new_bin(
    session: Session, prop: WasteProperty, litres: int, rhythm: str, start: date
) -> WasteBin:
    waste_bin = WasteBin(
        municipality_id=prop.municipality_id,
        property_id=prop.id,
        number=next_number(session, prop.municipality_id, "waste_bin"),
        litres=litres,
        rhythm=rhythm,
        start=start,
    )
    session.add(waste_bin)
    session.flush()
    return waste_bin


def _order(session: Session, waste_bin: WasteBin, kind: WorkOrderKind, due_on: date) -> WorkOrder:
    order = WorkOrder(
        municipality_id=waste_bin.municipality_id,
        property_id=waste_bin.property_id,
        bin_id=waste_bin.id,
        kind=kind,
        due_on=due_on,
        status=WorkOrderStatus.OPEN,
    )
    session.add(order)
    session.flush()
    return order


def _bin(session: Session, approved: Approved) -> WasteBin:
    bin_id = int(approved.application.data["bin_id"])
    return get_bin(session, approved.municipality.id, bin_id, person_id=approved.person.id)


def _carry_out_registration(session: Session, approved: Approved) -> CarriedOut:
    application, municipality_id = approved.application, approved.municipality.id
    data = application.data
    prop = get_property(
        session, municipality_id, int(data["property_id"]), person_id=approved.person.id
    )
    start = date.fromisoformat(data["start"])
    waste_bin = _new_bin(session, prop, int(data["litres"]), data["rhythm"], start)
    _order(session, waste_bin, WorkOrderKind.DELIVER, max(start, approved.as_of))
    application.data = {**data, "bin_id": waste_bin.id, "bin_number": waste_bin.number}
    audit.record(
        session,
        actor=approved.actor,
        action="waste_bin.registered",
        obj=waste_bin,
        municipality_id=municipality_id,
        after={"number": waste_bin.number, "application_id": application.id},
    )
    return CarriedOut(reassess_from=start.year)


def _carry_out_change(session: Session, approved: Approved) -> CarriedOut:
    application, municipality_id = approved.application, approved.municipality.id
    data = application.data
    old = _bin(session, approved)
    if old.end is not None:
        raise FieldErrors({"change_from": "Dieser Behälter ist bereits abgemeldet."})
    change_from = date.fromisoformat(data["from"])
    prop = get_property(session, municipality_id, old.property_id)
    old.end = change_from - timedelta(days=1)
    new = _new_bin(session, prop, int(data["litres"]), data["rhythm"], change_from)
    due = max(change_from, approved.as_of)
    _order(session, old, WorkOrderKind.PICK_UP, due)
    _order(session, new, WorkOrderKind.DELIVER, due)
    application.data = {**data, "new_bin_id": new.id, "bin_number": new.number}
    audit.record(
        session,
        actor=approved.actor,
        action="waste_bin.changed",
        obj=new,
        municipality_id=municipality_id,
        before={"bin_id": old.id, "litres": old.litres, "rhythm": old.rhythm},
        after={"litres": new.litres, "rhythm": new.rhythm, "application_id": application.id},
    )
    return CarriedOut(reassess_from=change_from.year)


def _carry_out_swap(session: Session, approved: Approved) -> CarriedOut:
    _order(session, _bin(session, approved), WorkOrderKind.SWAP, approved.as_of)
    return CarriedOut()


def _carry_out_deregistration(session: Session, approved: Approved) -> CarriedOut:
    waste_bin = _bin(session, approved)
    if waste_bin.end is not None:
        raise FieldErrors({"end": "Dieser Behälter ist bereits abgemeldet."})
    waste_bin.end = date.fromisoformat(approved.application.data["end"])
    _order(session, waste_bin, WorkOrderKind.PICK_UP, max(waste_bin.end, approved.as_of))
    audit.record(
        session,
        actor=approved.actor,
        action="waste_bin.deregistered",
        obj=waste_bin,
        municipality_id=waste_bin.municipality_id,
        after={"end": waste_bin.end.isoformat(), "application_id": approved.application.id},
    )
    return CarriedOut(reassess_from=waste_bin.end.year)


def mark_done(session: Session, order: WorkOrder, *, actor: str) -> None:
    """The depot has delivered, picked up or swapped the bin."""
    if order.status is not WorkOrderStatus.OPEN:
        raise IllegalTransition("Dieser Auftrag ist bereits erledigt.")
    order.status, order.done_at, order.done_by = WorkOrderStatus.DONE, clock.now(), actor
    audit.record(
        session,
        actor=actor,
        action="work_order.done",
        obj=order,
        municipality_id=order.municipality_id,
        after={"kind": order.kind.value, "bin_id": order.bin_id},
    )
    session.flush()


# --------------------------------------------------------------------------- the services

WASTE_FEE = Reassessment(assess_person, RulesCache)


def _criteria(service: str, change: str) -> tuple[CriterionSpec, ...]:
    return (
        CriterionSpec(
            service, BELOW_MINIMUM, "Behältervolumen unter dem Mindestvolumen je Person und Woche"
        ),
        CriterionSpec(service, BACKDATED, f"{change} mehr als N Monate rückwirkend", 3),
    )


REGISTER = OnlineService(
    SERVICE_REGISTER,
    "Anmeldung eines Abfallbehälters",
    _carry_out_registration,
    criteria=_criteria(SERVICE_REGISTER, "Anmeldung"),
    levy=WASTE_FEE,
)
CHANGE = OnlineService(
    SERVICE_CHANGE,
    "Änderung eines Abfallbehälters",
    _carry_out_change,
    criteria=_criteria(SERVICE_CHANGE, "Änderung"),
    levy=WASTE_FEE,
)
SWAP = OnlineService(SERVICE_SWAP, "Tausch eines beschädigten Abfallbehälters", _carry_out_swap)
DEREGISTER = OnlineService(
    SERVICE_DEREGISTER,
    "Abmeldung eines Abfallbehälters",
    _carry_out_deregistration,
    criteria=_criteria(SERVICE_DEREGISTER, "Abmeldung"),
    levy=WASTE_FEE,
)

SERVICES = (REGISTER, CHANGE, SWAP, DEREGISTER)
SERVICE_LABELS = {service.code: service.label for service in SERVICES}
DEFAULT_CRITERIA = [spec for service in SERVICES for spec in service.criteria]
