"""The property tax (Grundsteuer) as a levy of the pipeline (:mod:`core.levies.pipeline`): per
owner and year one notice for all their plots, one owner (change assessment after a new basis
notice) or all (annual run).

* Liable in a year: the owner of a property-tax object (core.levies.basis_notices) whose basis
  notices put a Messbetrag in force for that year (:mod:`core.levies.basis_notices.queries`:
  the last notice covering the year rules; a cancellation rules "nothing"), and everyone with
  property tax booked for the year (a cancelled plot is assessed down to nothing).
* Per plot the tax is Messbetrag × Hebesatz / 100 (:func:`rules.annual_tax`), the kind of land
  choosing the rate: class A is Grundsteuer A; class B is residential or non-residential land
  (:data:`rules.RESIDENTIAL`, :data:`rules.NON_RESIDENTIAL`). A plot whose notice names no use
  pays the residential rate (assumption, in the taxpayer's favour: no source found; where the
  municipality has one B rate both are the same). This municipality's share of a Zerlegung is
  taken in full cents, the fraction of a cent dropped (assumption, as the rounding of the tax).
* Payments: :mod:`core.levies.property_tax.payments` (§§ 28 to 31 GrStG), booked as
  differences per due date (keys ``property_tax:<year>:<YYYY-MM-DD>``); running it twice, or
  again after nothing changed, books nothing and issues no notice.
* The annual payment on 1 July on application (§ 28 (3) GrStG): for the owners whose
  application (:mod:`core.levies.property_tax.models`) covers the year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import booking, cases, pipeline
from core.levies.assessing import INSTALMENTS, Assessment, Standing, Table
from core.levies.basis_notices.models import (
    BasisNotice,
    TaxKind,
    TaxObject,
)
from core.levies.cases import Case
from core.levies.property_tax import models, notice, payments, plots, standing
from core.levies.property_tax.rules import (
    PropertyTaxRules,
    annual_tax,
    rules_for_year,
)
from core.levies.schedule import Schedule
from core.notices.records import Notice
from core.tenancy.municipalities import Municipality


@dataclass
class RunStats:
    persons: int = 0  # owners assessed
    notices: int = 0  # new notices issued
    objects: int = 0  # plots on file of the owners assessed


class PropertyTax(pipeline.PersonLevy[plots.Holding, PropertyTaxRules, RunStats]):
    """Subjects: the owners (person ids); facts: their plots with the Messbetrag in force."""

    kind = ClaimKind.PROPERTY_TAX

    def rules(self, session: Session, municipality_id: int, year: int) -> PropertyTaxRules:
        return rules_for_year(session, municipality_id, year)

    def liable(self, session: Session, municipality_id: int, year: int) -> list[int]:
        """Every owner of a plot with a Messbetrag in force in ``year``, and everyone with
        property tax booked for it."""
        owners: dict[int, int] = {
            oid: pid
            for oid, pid in session.execute(
                select(TaxObject.id, TaxObject.person_id).where(
                    TaxObject.municipality_id == municipality_id,
                    TaxObject.tax == TaxKind.PROPERTY_TAX,
                )
            )
        }
        in_force = plots.ruling(session, year, BasisNotice.municipality_id == municipality_id)
        with_plots = {owners[oid] for oid in in_force if oid in owners}
        with_claims = select(Claim.person_id).where(
            Claim.municipality_id == municipality_id,
            Claim.kind == self.kind,
            Claim.assessment_key.startswith(booking.key_prefix(self.kind, year)),
        )
        known = with_plots | set(session.scalars(with_claims))
        return sorted(known | standing.lapsing(session, municipality_id, year, known))

    def read(
        self, session: Session, municipality: Municipality, year: int, subjects: Sequence[int]
    ) -> list[Case[plots.Holding]]:
        with cases.gc_paused():  # a chunk's rows
            found_plots: dict[int, list[plots.Plot]] = {pid: [] for pid in subjects}
            objects = session.execute(
                select(
                    TaxObject.id,
                    TaxObject.person_id,
                    TaxObject.reference,
                    TaxObject.street,
                    TaxObject.house_number,
                    TaxObject.postal_code,
                    TaxObject.city,
                    TaxObject.property_class,
                    TaxObject.land_use,
                )
                .where(
                    TaxObject.person_id.in_(subjects),
                    TaxObject.municipality_id == municipality.id,
                    TaxObject.tax == TaxKind.PROPERTY_TAX,
                )
                .order_by(TaxObject.reference, TaxObject.id)
            ).all()
            ids = [row[0] for row in objects]
            in_force: dict[int, tuple[Any, ...]] = {}
            for start in range(0, len(ids), 2000):
                part = ids[start : start + 2000]
                in_force.update(plots.ruling(session, year, BasisNotice.tax_object_id.in_(part)))
            for oid, pid, ref, street, number, code, city, klass, use in objects:
                found = in_force.get(oid)
                if found is None or klass is None:
                    continue
                _oid, notice_id, _kind, messbetrag, num, den, amount = found
                found_plots[pid].append(
                    plots.Plot(
                        oid,
                        ref,
                        plots.location(street, number, code, city),
                        plots.kind_of(klass, use),
                        plots.share_cents(messbetrag, num, den, amount),
                        notice_id,
                    )
                )
            annual = models.in_force(session, subjects, year)
            notices = standing.standing_of(session, municipality.id, subjects, year)
            holdings = {
                pid: plots.Holding(found, pid in annual, notices.get(pid))
                for pid, found in found_plots.items()
            }
            return cases.person_cases(session, self.kind, year, subjects, holdings)

    def start(
        self,
        session: Session,
        municipality_id: int,
        year: int,
        as_of: date,
        *,
        rules: PropertyTaxRules,
        subjects: list[int],
        confirm_early: bool,
    ) -> RunStats:
        return RunStats()

    def count(self, stats: RunStats, case: Case[plots.Holding], issued: Notice | None) -> None:
        stats.persons += 1
        stats.objects += len(case.facts.plots)
        stats.notices += issued is not None

    def assess(
        self, case: Case[plots.Holding], year: int, as_of: date, rules: PropertyTaxRules
    ) -> Assessment | None:
        booked_by_key = case.booked[year][0]
        held, annual = case.facts.plots, case.facts.annual_payment
        if not held and not booked_by_key:
            if not standing.lapses(case.facts.standing, case.has_notice):
                return None
            return _ended(case, year, as_of, rules)
        taxes = [annual_tax(p.messbetrag_cents, p.kind, rules) for p in held]
        total = sum(taxes)
        basis = standing.basis_of(held, rules, year, annual_payment=annual)
        on_standing = _on_standing(case, year, rules, total, basis)
        if on_standing is not None:
            return on_standing
        booked: dict[date, int] = {}
        for k, cents in booked_by_key.items():
            day = payments.day_of(k)
            if day is not None:
                booked[day] = booked.get(day, 0) + cents
        stands = payments.standing(booked, total, year, rules, as_of, annual_payment=annual)
        names = payments.labels(total, year, rules, annual_payment=annual)
        targets = [
            booking.Target(
                key=payments.key(year, day),
                amount_cents=cents,
                due_date=day,
                description=f"Grundsteuer {year}, {names.get(day, 'Nachzahlung')}",
                period_start=date(year, 1, 1),
                period_end=date(year, 12, 31),
                label=names.get(day, "Nachzahlung"),
            )
            for day, cents in sorted(stands.items())
        ]
        previous = sum(booked_by_key.values())

        def snapshot(rows: dict[str, Schedule], first: bool, payable: int) -> dict[str, Any]:
            return {"basis": basis} | notice.snapshot(
                case.person,
                as_of,
                year=year,
                plots=list(zip(held, taxes, strict=True)),
                rules=rules,
                first=first,
                total_cents=total,
                previous_cents=previous,
                rows=rows[INSTALMENTS],
                payable_cents=payable,
            )

        return Assessment(
            tables={INSTALMENTS: Table(year, targets)},
            total_cents=total,
            printable=bool(held),
            title=lambda first: notice.title(year, first),
            snapshot=snapshot,
        )


def _ended(
    case: Case[plots.Holding], year: int, as_of: date, rules: PropertyTaxRules
) -> Assessment:
    """The notice ending an owner's standing notice: no plot is theirs any more."""
    stands_on = case.facts.standing
    reference = f" Nr. {stands_on.number} vom {stands_on.issued_on:%d.%m.%Y}" if stands_on else ""
    text = (
        f"Ihnen sind ab dem Kalenderjahr {year} keine grundsteuerpflichtigen Grundstücke mehr "
        f"zugerechnet. Der Grundsteuerbescheid{reference} gilt daher nicht mehr; die "
        f"Grundsteuer {year} und der folgenden Jahre wird auf 0,00 € festgesetzt."
    )

    def snapshot(rows: dict[str, Schedule], _first: bool, payable: int) -> dict[str, Any]:
        data = notice.snapshot(
            case.person, as_of, year=year, plots=[], rules=rules, first=True, total_cents=0,
            previous_cents=0, rows=rows[INSTALMENTS], payable_cents=payable,
        )  # fmt: skip
        basis = standing.basis_of([], rules, year, annual_payment=False)
        return {**data, "basis": basis, "intro": text}

    return Assessment(
        tables={INSTALMENTS: Table(year, [])},
        total_cents=0,
        printable=True,
        title=lambda _first: f"Bescheid über die Aufhebung der Grundsteuer ab {year}",
        snapshot=snapshot,
    )


def _on_standing(
    case: Case[plots.Holding], year: int, rules: PropertyTaxRules, total: int, basis: Any
) -> Assessment | None:
    """The year booked on the owner's standing notice (nothing to print, no notice), where
    it relies on it (:func:`standing.relies_on`); else None."""
    stands_on = case.facts.standing
    if (
        not case.facts.plots
        or stands_on is None
        or case.has_notice
        or not standing.relies_on(stands_on, basis, case.booked[year], year)
    ):
        return None
    annual = case.facts.annual_payment
    targets = standing.targets(year, rules, total, stands_on, annual_payment=annual)

    def unused(*_args: Any) -> Any:
        raise AssertionError("no notice is issued on a standing notice")

    return Assessment(
        tables={INSTALMENTS: Table(year, targets)},
        total_cents=total,
        printable=False,
        title=unused,
        snapshot=unused,
        standing=Standing(stands_on.notice_id, stands_on.kassenzeichen),
    )


PROPERTY_TAX = PropertyTax()

assess_person = PROPERTY_TAX.assess_person
assess_all = PROPERTY_TAX.assess_all
