"""Booking an approved dunning run as a job (core.jobs): the plan is the run's letters not yet
booked, a chunk books some of them (core.dunning.booking.book_letters). A letter booked once is
skipped, so a chunk done twice books nothing and the job resumes anywhere; the chunk that
books the last letter closes the run (and books the surcharges of claims paid late,
core.dunning.late). A run with only those has one chunk of the key ``CLOSE_ONLY`` (no letter)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.booking import book_letters, open_letters
from core.dunning.models import DunningLetter, DunningRun, LateSurcharge, RunState
from core.dunning.runs import get_run
from core.jobs.kinds import JobKind, Plan
from core.kernel.errors import IllegalTransition, ValidationError
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

CLOSE_ONLY = 0  # no letter has id 0: the chunk only closes the run


def late_pending(session: Session, run: DunningRun) -> bool:
    found = session.scalar(
        select(LateSurcharge.id)
        .where(LateSurcharge.run_id == run.id, LateSurcharge.booked.is_(False))
        .limit(1)
    )
    return found is not None


class BookDunningRun(JobKind):
    name = "dunning"
    title = "Mahnlauf buchen (Mahngebühren und Säumniszuschläge)"
    chunk_size = 500

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        raw = str(given.get("run", "")).strip()
        if not raw.isdigit():
            raise ValidationError("Bitte die Nummer des freigegebenen Mahnlaufs angeben.")
        return {"run": int(raw)}

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"Mahnlauf Nr. {params['run']} buchen"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        run = get_run(session, municipality.id, params["run"])
        if run.state is not RunState.APPROVED:
            raise IllegalTransition(
                f"Mahnlauf Nr. {run.id} ist {run.state_label}; gebucht wird nur ein "
                "freigegebener Lauf."
            )
        letters = open_letters(session, run)
        if letters:
            return Plan(
                letters, [f"{len(letters)} Mahnschreiben werden gebucht (Gebühren, Zuschläge)."]
            )
        if late_pending(session, run):
            return Plan([CLOSE_ONLY], ["Säumniszuschläge verspätet bezahlter Forderungen."])
        raise ValidationError(f"Im Mahnlauf Nr. {run.id} ist kein Brief mehr zu buchen.")

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
        run = get_run(session, municipality.id, params["run"])
        counts = book_letters(session, run, keys, actor)
        return {k: v for k, v in counts.items() if v}

    def label(self, session: Session, key: int) -> str:
        number = session.scalar(
            select(Person.number)
            .join(DunningLetter, DunningLetter.person_id == Person.id)
            .where(DunningLetter.id == key)
        )
        if key == CLOSE_ONLY:
            return "Abschluss des Mahnlaufs"
        return f"Mahnschreiben an Person {number}" if number else f"Mahnschreiben (id {key})"

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return (
            f"Mahnlauf Nr. {params['run']}: {counts.get('letters', 0)} Mahnschreiben gebucht, "
            f"{counts.get('fees', 0)} Mahngebühren, {counts.get('surcharges', 0)} "
            "Säumniszuschläge."
            + (f" {counts['dropped']} Posten entfallen." if counts.get("dropped") else "")
        )
