"""The waste fees as a levy of the pipeline (:mod:`core.levies.pipeline`): one liable person
(change assessment) with all their properties and bins, or everyone (annual run).

Like the dog tax it books only differences per instalment and property (keys
``waste_fee:<year>:<property_id>:<instalment>``) and issues a notice only when something changed
or the year has no notice yet; running it twice changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import booking, cases, pipeline, yearly
from core.levies.assessing import INSTALMENTS, Assessment, Table
from core.levies.cases import Case
from core.levies.schedule import Schedule
from core.levies.waste.models import WasteBin, WasteProperty
from core.levies.waste.rules import (
    LEVY,
    BinFacts,
    PropertyFacts,
    WasteFeeRules,
    compute_year,
    due_date,
)
from core.notices.periods import Line
from core.notices.records import Notice
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import StatuteCache


class RulesCache(StatuteCache[WasteFeeRules]):
    """Waste-fee statutes of a municipality per year, parsed once per run."""

    def __init__(self, session: Session, municipality_id: int) -> None:
        super().__init__(
            session, municipality_id, LEVY, WasteFeeRules.from_data, "Abfallgebührensatzung"
        )


def facts(prop: WasteProperty, bins: list[WasteBin]) -> PropertyFacts:
    # a bin that starts the day after another of the property ended replaces it (a change)
    ends = {b.end for b in bins if b.end is not None}
    return PropertyFacts(
        prop.id,
        prop.label,
        prop.residents,
        prop.liable_from,
        tuple(
            BinFacts(
                b.id,
                b.number,
                b.litres,
                b.rhythm,
                b.start,
                b.end,
                replaces=b.start - timedelta(days=1) in ends,
            )
            for b in bins
        ),
    )


Properties = list[tuple[WasteProperty, list[WasteBin]]]  # a person's properties with their bins


@dataclass
class RunStats:
    persons: int = 0
    notices: int = 0
    bins: int = 0


class WasteFee(pipeline.PersonLevy[Properties, RulesCache, RunStats]):
    """Subjects: the liable persons (ids); facts: their properties with bins."""

    kind = ClaimKind.WASTE_FEE

    def rules(self, session: Session, municipality_id: int, year: int) -> RulesCache:
        return RulesCache(session, municipality_id)

    def liable(self, session: Session, municipality_id: int, year: int) -> list[int]:
        """Everyone with a property liable in ``year`` or with waste fees booked for it."""
        start, end = date(year, 1, 1), date(year, 12, 31)
        with_props = select(WasteProperty.person_id).where(
            WasteProperty.municipality_id == municipality_id, WasteProperty.liable_from <= end
        )
        with_bins = (
            select(WasteProperty.person_id)
            .join(WasteBin, WasteBin.property_id == WasteProperty.id)
            .where(
                WasteProperty.municipality_id == municipality_id,
                WasteBin.start <= end,
                or_(WasteBin.end.is_(None), WasteBin.end >= start),
            )
        )
        with_claims = select(Claim.person_id).where(
            Claim.municipality_id == municipality_id,
            Claim.kind == self.kind,
            Claim.assessment_key.startswith(booking.key_prefix(self.kind, year)),
        )
        return sorted(
            set(session.scalars(with_props))
            | set(session.scalars(with_bins))
            | set(session.scalars(with_claims))
        )

    def read(
        self, session: Session, municipality: Municipality, year: int, subjects: Sequence[int]
    ) -> list[Case[Properties]]:
        props = list(
            session.scalars(
                select(WasteProperty)
                .where(
                    WasteProperty.person_id.in_(subjects),
                    WasteProperty.municipality_id == municipality.id,
                )
                .order_by(WasteProperty.id)
            )
        )
        bins: dict[int, list[WasteBin]] = defaultdict(list)
        if props:
            for b in session.scalars(
                select(WasteBin)
                .where(WasteBin.property_id.in_([p.id for p in props]))
                .order_by(WasteBin.id)
            ):
                bins[b.property_id].append(b)
        found: dict[int, Properties] = {pid: [] for pid in subjects}
        for p in props:
            found[p.person_id].append((p, bins[p.id]))
        return cases.person_cases(session, self.kind, year, subjects, found)

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

    def count(self, stats: RunStats, case: Case[Properties], notice: Notice | None) -> None:
        stats.persons += 1
        stats.bins += sum(len(bins) for _, bins in case.facts)
        stats.notices += notice is not None

    def assess(
        self, case: Case[Properties], year: int, as_of: date, rules: RulesCache
    ) -> Assessment | None:
        booked = case.booked[year][0]
        if not case.facts and not booked:
            return None
        rules_for = rules.for_year(year)
        in_force = yearly.in_force(rules_for, year, as_of)
        lines: list[Line] = []
        targets: list[booking.Target] = []
        for prop, bins in case.facts:
            result = compute_year(facts(prop, bins), rules_for, year)
            lines.extend(result.lines)
            targets.extend(
                yearly.target(
                    f"{self.kind.value}:{year}:{prop.id}:{i.index}",
                    i,
                    year,
                    due_date(i, as_of, in_force),
                    f"Abfallgebühren {year}, Rate {i.index}",
                )
                for i in result.instalments
                if i.amount_cents
            )
        total = sum(line.amount_cents for line in lines)

        def snapshot(rows: dict[str, Schedule], first: bool, payable: int) -> dict[str, Any]:
            intro = yearly.intro(
                f"Für das Kalenderjahr {year} werden die Abfallgebühren für die unten genannten "
                "Grundstücke und Behälter wie folgt festgesetzt.",
                f"Die Abfallgebühren {year} werden",
                first=first,
                total_cents=total,
                previous_cents=sum(booked.values()),
            )
            return yearly.snapshot(
                case.person,
                as_of,
                intro=intro,
                rules=in_force,
                lines=lines,
                rate_label="Jahresgebühr",
                rows=rows[INSTALMENTS],
                payable_cents=payable,
            )

        return Assessment(
            tables={INSTALMENTS: Table(year, targets)},
            total_cents=total,
            printable=bool(lines),
            title=lambda first: (
                f"Bescheid über Abfallgebühren {year}"
                if first
                else f"Änderungsbescheid über Abfallgebühren {year}"
            ),
            snapshot=snapshot,
        )


WASTE_FEE = WasteFee()


assess_person = WASTE_FEE.assess_person
assess_all = WASTE_FEE.assess_all
