"""The dog tax as a levy of the pipeline (:mod:`core.levies.pipeline`): one owner (change
assessment) or all (annual run), per owner one notice and year.

Running it twice changes nothing: it books only differences (keys ``dog_tax:<year>:<instalment>``),
and issues a notice only when something changed or the year has no notice yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.kernel.id_lists import ids_in
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import booking, cases, pipeline, yearly
from core.levies.assessing import INSTALMENTS, Assessment, Table
from core.levies.cases import Case
from core.levies.dog_tax.models import Dog
from core.levies.dog_tax.rules import LEVY, DogFacts, DogTaxRules, YearMemo, due_date
from core.levies.schedule import Schedule
from core.notices.records import Notice
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import StatuteCache


class RulesCache(StatuteCache[DogTaxRules]):
    """Dog-tax statutes of a municipality per year, parsed once per run; with the run's
    computations per shape of an owner's dogs (:class:`YearMemo`)."""

    def __init__(self, session: Session, municipality_id: int) -> None:
        super().__init__(
            session, municipality_id, LEVY, DogTaxRules.from_data, "Hundesteuersatzung"
        )
        self.memo = YearMemo()
        self.targets: dict[tuple[Any, ...], list[booking.Target]] = {}  # per instalments
        self._months: dict[int, tuple[Callable[[int], DogTaxRules], tuple[DogTaxRules, ...]]] = {}

    def months_of(self, year: int) -> tuple[Callable[[int], DogTaxRules], tuple[DogTaxRules, ...]]:
        """``rules_for`` of the year and the rules of its twelve months, looked up once."""
        if year not in self._months:
            rules_for = self.for_year(year)
            self._months[year] = rules_for, tuple(rules_for(year * 12 + i) for i in range(12))
        return self._months[year]


def facts(dog: Dog) -> DogFacts:
    return DogFacts(
        dog.id,
        dog.name,
        dog.born_on,
        dog.acquired_on,
        dog.ended_on,
        dog.dangerous,
        dog.exemption_code,
    )


@dataclass
class RunStats:
    persons: int = 0  # owners assessed
    notices: int = 0  # new notices issued
    dogs: int = 0  # dogs on file of the owners assessed


class DogTax(pipeline.PersonLevy[list[DogFacts], RulesCache, RunStats]):
    """Subjects: the owners (person ids); facts: their dogs in the municipality (plain rows)."""

    kind = ClaimKind.DOG_TAX

    def rules(self, session: Session, municipality_id: int, year: int) -> RulesCache:
        return RulesCache(session, municipality_id)

    def liable(self, session: Session, municipality_id: int, year: int) -> list[int]:
        """Everyone with a dog liable in ``year`` or with dog tax booked for it."""
        start, end = date(year, 1, 1), date(year, 12, 31)
        with_dogs = select(Dog.person_id).where(
            Dog.municipality_id == municipality_id,
            Dog.acquired_on <= end,
            or_(Dog.ended_on.is_(None), Dog.ended_on >= start),
        )
        with_claims = select(Claim.person_id).where(
            Claim.municipality_id == municipality_id,
            Claim.kind == self.kind,
            Claim.assessment_key.startswith(booking.key_prefix(self.kind, year)),
        )
        return sorted(set(session.scalars(with_dogs)) | set(session.scalars(with_claims)))

    def read(
        self, session: Session, municipality: Municipality, year: int, subjects: Sequence[int]
    ) -> list[Case[list[DogFacts]]]:
        with cases.gc_paused():  # a chunk's rows
            dogs: dict[int, list[DogFacts]] = {pid: [] for pid in subjects}
            for person_id, dog_id, name, born, acquired, ended, dangerous, code in session.execute(
                select(
                    Dog.person_id,
                    Dog.id,
                    Dog.name,
                    Dog.born_on,
                    Dog.acquired_on,
                    Dog.ended_on,
                    Dog.dangerous,
                    Dog.exemption_code,
                )
                .where(ids_in(Dog.person_id, subjects), Dog.municipality_id == municipality.id)
                .order_by(Dog.id)
            ):
                dogs[person_id].append(
                    DogFacts(dog_id, name, born, acquired, ended, dangerous, code)
                )
            return cases.person_cases(session, self.kind, year, subjects, dogs)

    def start(
        self,
        session: Session,
        municipality_id: int,
        year: int,
        as_of: date,
        *,
        rules: RulesCache,
        subjects: list[int],
        confirm_early: bool,
    ) -> RunStats:
        return RunStats()

    def count(self, stats: RunStats, case: Case[list[DogFacts]], notice: Notice | None) -> None:
        stats.persons += 1
        stats.dogs += len(case.facts)
        stats.notices += notice is not None

    def assess(
        self, case: Case[list[DogFacts]], year: int, as_of: date, rules: RulesCache
    ) -> Assessment | None:
        booked = case.booked[year][0]
        if not case.facts and not booked:
            return None
        rules_for, months = rules.months_of(year)
        result = rules.memo.compute(case.facts, months, year)
        in_force = yearly.in_force(rules_for, year, as_of)
        targets = rules.targets.get((year, as_of, id(in_force), result.instalments))
        if targets is None:  # the same instalments give the same targets in a run
            targets = rules.targets[(year, as_of, id(in_force), result.instalments)] = [
                yearly.target(
                    f"{self.kind.value}:{year}:{i.index}",
                    i,
                    year,
                    due_date(i, as_of, in_force),
                    f"Hundesteuer {year}, Rate {i.index}",
                )
                for i in result.instalments
                if i.amount_cents
            ]

        def snapshot(rows: dict[str, Schedule], first: bool, payable: int) -> dict[str, Any]:
            intro = yearly.intro(
                f"Für das Kalenderjahr {year} wird die Hundesteuer für die unten genannten "
                "Hunde wie folgt festgesetzt.",
                f"Die Hundesteuer {year} wird",
                first=first,
                total_cents=result.total_cents,
                previous_cents=sum(booked.values()),
            )
            return yearly.snapshot(
                case.person,
                as_of,
                intro=intro,
                rules=in_force,
                lines=result.lines,
                rate_label="Jahressteuer",
                rows=rows[INSTALMENTS],
                payable_cents=payable,
            )

        return Assessment(
            tables={INSTALMENTS: Table(year, list(targets))},
            total_cents=result.total_cents,
            printable=bool(result.lines),
            title=lambda first: (
                f"Bescheid über die Festsetzung der Hundesteuer {year}"
                if first
                else f"Änderungsbescheid über die Hundesteuer {year}"
            ),
            snapshot=snapshot,
        )


DOG_TAX = DogTax()


assess_person = DOG_TAX.assess_person
assess_all = DOG_TAX.assess_all
