"""The levies' annual runs as jobs (core.jobs): the plan is the pipeline's run guards and its
liable subjects, a chunk is :func:`core.levies.pipeline.run_chunk`. A chunk done twice books
nothing the second time (only differences are booked), so a job resumes anywhere."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.kinds import JobKind, Plan
from core.kernel import clock
from core.kernel.errors import ValidationError
from core.ledger.models import Claim, JournalEntry, LedgerAccount, Posting, TaxAccount
from core.levies import assessing, pipeline, run_guards
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

Summary = Callable[[int, Mapping[str, int]], str]


def person_label(session: Session, key: int) -> str:
    number = session.scalar(select(Person.number).where(Person.id == key))
    return f"Person {number}" if number is not None else f"Person (id {key})"


class AnnualRun(JobKind):
    """The annual run of one levy (Jahresveranlagung, Verbrauchsabrechnung)."""

    grows = tuple(
        model.__tablename__
        for model in (Claim, Posting, JournalEntry, Notice, LedgerAccount, TaxAccount)
    )

    def __init__(
        self,
        levy: pipeline.Levy[Any, Any, Any, Any],
        *,
        name: str,
        title: str,
        short: str,
        unit: str,
        summary: Summary,
        stats: Callable[[], Any],
        label: Callable[[Session, int], str] = person_label,
    ) -> None:
        self.levy, self.name, self.title, self.short, self.unit = levy, name, title, short, unit
        self._summary, self._label = summary, label
        self._stats = stats  # the levy's statistics, empty: a chunk counts only itself

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        today = clock.today()
        as_of = _date(given.get("as_of"), today)
        year = run_guards.parse_year(given.get("year") or str(as_of.year), as_of)
        confirm = str(given.get("confirm_early", "")).lower() in ("1", "y", "on", "true", "ja")
        return {"year": year, "as_of": as_of.isoformat(), "confirm_early": confirm}

    def describe(self, params: Mapping[str, Any]) -> str:
        as_of = date.fromisoformat(params["as_of"])
        return f"{self.short} {params['year']} (Bescheiddatum {as_of:%d.%m.%Y})"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        subjects, _rules, stats = pipeline.plan(
            session,
            self.levy,
            municipality=municipality,
            year=params["year"],
            as_of=date.fromisoformat(params["as_of"]),
            confirm_early=params["confirm_early"],
        )
        counts = {k: v for k, v in dataclasses.asdict(stats).items() if v}
        preview = [
            f"{len(subjects)} {self.unit} werden geprüft; Bescheide nur, wo sich etwas "
            "geändert hat oder für das Jahr noch keiner erging."
        ]
        if counts:
            preview.append(self._summary(params["year"], counts))
        return Plan([self.levy.key(s) for s in subjects], preview, counts)

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
        year, as_of = params["year"], date.fromisoformat(params["as_of"])
        rules = self.levy.rules(session, municipality.id, year)
        stats = self._stats()
        pipeline.run_chunk(
            session,
            self.levy,
            self.levy.subjects_of(session, municipality.id, keys),
            how=assessing.Issuing(self.levy.kind, municipality, year, as_of, actor),
            rules=rules,
            stats=stats,
        )
        return {k: v for k, v in dataclasses.asdict(stats).items() if v}

    def label(self, session: Session, key: int) -> str:
        return self._label(session, key)

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return self._summary(params["year"], counts)


def _date(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            "Bitte geben Sie das Bescheiddatum als JJJJ-MM-TT an, zum Beispiel 2027-01-10."
        ) from None
