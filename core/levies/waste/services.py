"""The waste online services: register a bin, change its size or rhythm, report a damaged bin
(swap) and deregister a bin — each an application that the review criteria send straight
through or to a clerk, and that, once approved, changes the bins, gives the depot its work
orders and re-assesses the waste fees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.errors import FieldErrors as FieldErrors  # re-exported for callers
from core.kernel.errors import IllegalTransition
from core.kernel.months import months_between
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
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number
from core.workflow import applications as workflow
from core.workflow.applications import Application, CriterionSpec, criteria_for
from core.workflow.applications import (
    reject as reject,  # the common decisions, re-exported for callers
)
from core.workflow.applications import request_information as request_information

SERVICE_REGISTER = "bin_registration"
SERVICE_CHANGE = "bin_change"
SERVICE_SWAP = "bin_swap"
SERVICE_DEREGISTER = "bin_deregistration"

SERVICE_LABELS = {
    SERVICE_REGISTER: "Anmeldung eines Abfallbehälters",
    SERVICE_CHANGE: "Änderung eines Abfallbehälters",
    SERVICE_SWAP: "Tausch eines beschädigten Abfallbehälters",
    SERVICE_DEREGISTER: "Abmeldung eines Abfallbehälters",
}

_BELOW = "Behältervolumen unter dem Mindestvolumen je Person und Woche"
DEFAULT_CRITERIA = [
    CriterionSpec(SERVICE_REGISTER, "below_minimum", _BELOW),
    CriterionSpec(SERVICE_REGISTER, "backdated", "Anmeldung mehr als N Monate rückwirkend", 3),
    CriterionSpec(SERVICE_CHANGE, "below_minimum", _BELOW),
    CriterionSpec(SERVICE_CHANGE, "backdated", "Änderung mehr als N Monate rückwirkend", 3),
    CriterionSpec(SERVICE_DEREGISTER, "below_minimum", _BELOW),
    CriterionSpec(SERVICE_DEREGISTER, "backdated", "Abmeldung mehr als N Monate rückwirkend", 3),
]

FUTURE_LIMIT_DAYS = 31


def rules_on(session: Session, municipality_id: int, day: date) -> WasteFeeRules:
    return RulesCache(session, municipality_id).on(day)


def _active_on(bins: list[WasteBin], day: date) -> list[WasteBin]:
    return [b for b in bins if b.start <= day and (b.end is None or b.end >= day)]


def _check_date(day: date, field: str, as_of: date, not_before: date, what: str) -> dict[str, str]:
    if day > as_of + timedelta(days=FUTURE_LIMIT_DAYS):
        return {field: f"Das Datum darf höchstens {FUTURE_LIMIT_DAYS} Tage in der Zukunft liegen."}
    if day < not_before:
        return {field: f"Das Datum kann nicht vor {what} ({not_before:%d.%m.%Y}) liegen."}
    if day < as_of - timedelta(days=10 * 366):
        return {field: "Bitte prüfen Sie das Datum: es liegt mehr als zehn Jahre zurück."}
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


def _reasons(
    session: Session,
    municipality_id: int,
    service: str,
    *,
    day: date,
    as_of: date,
    rules: WasteFeeRules,
    residents: int,
    bins_after: list[tuple[int, str]],
) -> list[str]:
    criteria = criteria_for(session, municipality_id, service)
    reasons = []
    c = criteria.get("below_minimum")
    if c and c.enabled and rules.below_minimum(residents, bins_after):
        reasons.append(
            f"{c.label} ({rules.min_litres_per_resident_week} l)"
            if rules.min_litres_per_resident_week
            else c.label
        )
    c = criteria.get("backdated")
    if c and c.enabled and months_between(day, as_of) > (c.parameter or 0):
        reasons.append(c.label.replace(" N ", f" {c.parameter} "))
    return reasons


def _submit(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    service: str,
    subject_id: int,
    data: dict[str, Any],
    reasons: list[str],
    as_of: date,
    actor: str,
) -> Application:
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


@dataclass(frozen=True)
class BinRegistration:
    property_id: int
    litres: int
    rhythm: str
    start: date


def _registration_errors(
    reg: BinRegistration, prop: WasteProperty, rules: WasteFeeRules, as_of: date
) -> dict[str, str]:
    errors = _check_size(reg.litres, reg.rhythm, rules)
    errors.update(
        _check_date(reg.start, "start", as_of, prop.liable_from, "dem Beginn der Gebührenpflicht")
    )
    return errors


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
    errors = _registration_errors(registration, prop, rules, as_of)
    if errors:
        raise FieldErrors(errors)
    after = [
        (b.litres, b.rhythm) for b in _active_on(bins_of(session, [prop.id]), registration.start)
    ]
    reasons = _reasons(
        session,
        municipality.id,
        SERVICE_REGISTER,
        day=registration.start,
        as_of=as_of,
        rules=rules,
        residents=prop.residents,
        bins_after=[*after, (registration.litres, registration.rhythm)],
    )
    return _submit(
        session,
        person=person,
        municipality=municipality,
        service=SERVICE_REGISTER,
        subject_id=prop.id,
        data={
            "property_id": prop.id,
            "litres": registration.litres,
            "rhythm": registration.rhythm,
            "start": registration.start.isoformat(),
        },
        reasons=reasons,
        as_of=as_of,
        actor=actor,
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
    others = [
        (b.litres, b.rhythm)
        for b in _active_on(bins_of(session, [prop.id]), change_from)
        if b.id != waste_bin.id
    ]
    reasons = _reasons(
        session,
        municipality.id,
        SERVICE_CHANGE,
        day=change_from,
        as_of=as_of,
        rules=rules,
        residents=prop.residents,
        bins_after=[*others, (litres, rhythm)],
    )
    return _submit(
        session,
        person=person,
        municipality=municipality,
        service=SERVICE_CHANGE,
        subject_id=waste_bin.id,
        data={
            "bin_id": waste_bin.id,
            "litres": litres,
            "rhythm": rhythm,
            "from": change_from.isoformat(),
        },
        reasons=reasons,
        as_of=as_of,
        actor=actor,
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
    return _submit(
        session,
        person=person,
        municipality=municipality,
        service=SERVICE_SWAP,
        subject_id=waste_bin.id,
        data={"bin_id": waste_bin.id, "note": note.strip()},
        reasons=[],
        as_of=as_of,
        actor=actor,
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
    others = [
        (b.litres, b.rhythm)
        for b in _active_on(bins_of(session, [prop.id]), end + timedelta(days=1))
        if b.id != waste_bin.id
    ]
    reasons = _reasons(
        session,
        municipality.id,
        SERVICE_DEREGISTER,
        day=end,
        as_of=as_of,
        rules=rules,
        residents=prop.residents,
        bins_after=others,
    )
    return _submit(
        session,
        person=person,
        municipality=municipality,
        service=SERVICE_DEREGISTER,
        subject_id=waste_bin.id,
        data={"bin_id": waste_bin.id, "end": end.isoformat()},
        reasons=reasons,
        as_of=as_of,
        actor=actor,
    )


# --------------------------------------------------------------------------- carrying out


def approve(session: Session, application: Application, *, as_of: date, actor: str) -> list[Notice]:
    """Carry out an application and mark it approved; returns the notices it caused."""
    return workflow.approve_with(session, application, CARRY_OUT, as_of=as_of, actor=actor)


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
    data = application.data
    prop = get_property(session, municipality.id, int(data["property_id"]), person_id=person.id)
    start = date.fromisoformat(data["start"])
    waste_bin = _new_bin(session, prop, int(data["litres"]), data["rhythm"], start)
    _order(session, waste_bin, WorkOrderKind.DELIVER, max(start, as_of))
    application.data = {**data, "bin_id": waste_bin.id, "bin_number": waste_bin.number}
    audit.record(
        session,
        actor=actor,
        action="waste_bin.registered",
        obj=waste_bin,
        municipality_id=municipality.id,
        after={"number": waste_bin.number, "application_id": application.id},
    )
    return _reassess(session, person, municipality, start.year, as_of, actor)


def _carry_out_change(
    session: Session,
    application: Application,
    person: Person,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[Notice]:
    data = application.data
    old = get_bin(session, municipality.id, int(data["bin_id"]), person_id=person.id)
    if old.end is not None:
        raise FieldErrors({"change_from": "Dieser Behälter ist bereits abgemeldet."})
    change_from = date.fromisoformat(data["from"])
    prop = get_property(session, municipality.id, old.property_id)
    old.end = change_from - timedelta(days=1)
    new = _new_bin(session, prop, int(data["litres"]), data["rhythm"], change_from)
    due = max(change_from, as_of)
    _order(session, old, WorkOrderKind.PICK_UP, due)
    _order(session, new, WorkOrderKind.DELIVER, due)
    application.data = {**data, "new_bin_id": new.id, "bin_number": new.number}
    audit.record(
        session,
        actor=actor,
        action="waste_bin.changed",
        obj=new,
        municipality_id=municipality.id,
        before={"bin_id": old.id, "litres": old.litres, "rhythm": old.rhythm},
        after={"litres": new.litres, "rhythm": new.rhythm, "application_id": application.id},
    )
    return _reassess(session, person, municipality, change_from.year, as_of, actor)


def _carry_out_swap(
    session: Session,
    application: Application,
    person: Person,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[Notice]:
    waste_bin = get_bin(session, municipality.id, int(application.data["bin_id"]), person.id)
    _order(session, waste_bin, WorkOrderKind.SWAP, as_of)
    return []


def _carry_out_deregistration(
    session: Session,
    application: Application,
    person: Person,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[Notice]:
    waste_bin = get_bin(session, municipality.id, int(application.data["bin_id"]), person.id)
    if waste_bin.end is not None:
        raise FieldErrors({"end": "Dieser Behälter ist bereits abgemeldet."})
    waste_bin.end = date.fromisoformat(application.data["end"])
    _order(session, waste_bin, WorkOrderKind.PICK_UP, max(waste_bin.end, as_of))
    audit.record(
        session,
        actor=actor,
        action="waste_bin.deregistered",
        obj=waste_bin,
        municipality_id=municipality.id,
        after={"end": waste_bin.end.isoformat(), "application_id": application.id},
    )
    return _reassess(session, person, municipality, waste_bin.end.year, as_of, actor)


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


CARRY_OUT: dict[str, workflow.CarryOut] = {
    SERVICE_REGISTER: _carry_out_registration,
    SERVICE_CHANGE: _carry_out_change,
    SERVICE_SWAP: _carry_out_swap,
    SERVICE_DEREGISTER: _carry_out_deregistration,
}
