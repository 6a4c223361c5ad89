"""Checking the running instalment plans as a job (core.jobs), like ``openkasse dunning plans``:
the plan is the municipality's running plans, a chunk checks some of them on the job's day
(core.dunning.instalments.check_plans): a paid plan is completed, a plan with an instalment
more than the statute's ``late_days`` late is ended; either way its blocks end that day, so the
account and the plan page show it ended as soon as the chunk is done. A plan no longer running
is left alone, so a chunk done twice changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.instalment_models import InstalmentPlan
from core.dunning.instalments import check_plans, running_plan_ids
from core.jobs.kinds import JobKind, Plan
from core.kernel import clock
from core.kernel.errors import ValidationError
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def _day(text: str | None) -> date:
    today = clock.today()
    if not text or not text.strip():
        return today
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            "Bitte geben Sie den Stichtag als JJJJ-MM-TT an, zum Beispiel 2027-01-10."
        ) from None
    if day > today:
        raise ValidationError(
            "Der Stichtag darf nicht in der Zukunft liegen: eine Rate gilt erst als versäumt, "
            "wenn ihr Termin verstrichen ist."
        )
    return day


class CheckInstalmentPlans(JobKind):
    name = "instalment_plans"
    title = "Ratenpläne prüfen (erledigte und versäumte beenden)"
    chunk_size = 200

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        return {"as_of": _day(given.get("as_of")).isoformat()}

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"Ratenpläne prüfen zum {date.fromisoformat(params['as_of']):%d.%m.%Y}"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        found = running_plan_ids(session, municipality.id)
        if not found:
            raise ValidationError("Es läuft kein Ratenplan, der zu prüfen wäre.")
        return Plan(found, [f"{len(found)} laufende Ratenpläne werden geprüft."])

    def run(
        self,
        session: Session,
        municipality: Municipality,
        params: Mapping[str, Any],
        keys: Sequence[int],
        *,
        actor: str,
        environment: Mapping[str, Any],
    ) -> dict[str, int]:
        day = date.fromisoformat(params["as_of"])
        counts = check_plans(session, municipality, day, actor=actor, plan_ids=keys)
        return {k: v for k, v in counts.items() if v}

    def label(self, session: Session, key: int) -> str:
        number = session.scalar(
            select(Person.number)
            .join(InstalmentPlan, InstalmentPlan.person_id == Person.id)
            .where(InstalmentPlan.id == key)
        )
        return f"Ratenplan Nr. {key} (Person {number})" if number else f"Ratenplan (id {key})"

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return (
            f"Ratenpläne zum {date.fromisoformat(params['as_of']):%d.%m.%Y}: "
            f"{counts.get('checked', 0)} geprüft, {counts.get('completed', 0)} erledigt, "
            f"{counts.get('terminated', 0)} wegen versäumter Rate beendet."
        )
