"""Trade tax (Gewerbesteuerbescheid) as a levy of the pipeline (:mod:`core.levies.pipeline`).

Trade tax is assessed per basis notice, not by an annual run: a Gewerbesteuermessbescheid for
year Y leads to the change assessment of one subject — the business (its tax object) — for Y
through :func:`core.levies.pipeline.assess_one`: the tax, the settlement against the advance
payments of Y, and the advance payments of Y + 1 (:mod:`core.levies.trade_tax.figures`). The
pipeline books only the differences and issues a notice only when something changed; the
notice names its business (``data.tax_object_id``), so a person's two businesses get a notice
each. Whether a notice may be issued at once or needs an approver first is decided before
(:mod:`core.levies.trade_tax.approval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import NotFound
from core.kernel.money import format_euro
from core.ledger.balances import claim_balances
from core.ledger.kinds import ClaimKind
from core.levies import booking, cases, pipeline, realtax
from core.levies.assessing import INSTALMENTS, Assessment, Table
from core.levies.basis_notices.models import BasisNotice, TaxKind, TaxObject
from core.levies.basis_notices.queries import notice_in_force, share_of
from core.levies.cases import Case
from core.levies.schedule import Schedule
from core.levies.trade_tax import figures as fig
from core.levies.trade_tax.rules import TradeTaxRules, interest_basis, rules_for_year
from core.notices.records import Notice, recipient_block
from core.tenancy.municipalities import Municipality

ADVANCES = "advances"
TEMPLATE = "trade_tax_notice.html"  # templates/documents/


class RulesCache:
    """The Hebesatz statutes per year of one municipality, parsed once."""

    def __init__(self, session: Session, municipality_id: int) -> None:
        self.session, self.municipality_id = session, municipality_id
        self._years: dict[int, TradeTaxRules] = {}

    def __call__(self, year: int) -> TradeTaxRules:
        if year not in self._years:
            self._years[year] = rules_for_year(self.session, self.municipality_id, year)
        return self._years[year]

    def next_year(self, year: int) -> TradeTaxRules:
        """The next year's statute, or this year's while none is enacted yet."""
        try:
            return self(year + 1)
        except NotFound:
            return self(year)


@dataclass
class RunStats:
    businesses: int = 0
    notices: int = 0


def _booked(found: booking.Booked, oid: int) -> booking.Booked:
    """The part of a person's booked trade tax that belongs to business ``oid``."""
    amounts, claims = found
    mine = {k for k in amounts if k.split(":")[2:3] == [str(oid)]}
    return {k: amounts[k] for k in mine}, {k: claims[k] for k in mine}


def last_notice(session: Session, tax_object_id: int, year: int) -> Notice | None:
    """The latest trade-tax notice of the business for ``year``."""
    return session.scalars(
        select(Notice)
        .where(
            Notice.levy == fig.LEVY,
            Notice.year == year,
            Notice.data["tax_object_id"].as_integer() == tax_object_id,
        )
        .order_by(Notice.id.desc())
        .limit(1)
    ).first()


def _first_fixed_paid(session: Session, tax_object_id: int, year: int) -> tuple[int, int] | None:
    """The advance payments fixed and paid as the year's first notice found them."""
    data = session.scalars(
        select(Notice.data["trade_tax"])
        .where(
            Notice.levy == fig.LEVY,
            Notice.year == year,
            Notice.data["tax_object_id"].as_integer() == tax_object_id,
        )
        .order_by(Notice.id)
        .limit(1)
    ).first()
    if not data:
        return None
    return int(data["advances_fixed_cents"]), int(data["paid_before_cents"])


class TradeTax(pipeline.Levy[int, fig.Facts, RulesCache, RunStats]):
    """Subjects: businesses (tax object ids); facts: the Messbetrag and what is booked."""

    kind = ClaimKind.TRADE_TAX

    def rules(self, session: Session, municipality_id: int, year: int) -> RulesCache:
        return RulesCache(session, municipality_id)

    def liable(self, session: Session, municipality_id: int, year: int) -> list[int]:
        """Every business with a basis notice for ``year``."""
        return sorted(
            set(
                session.scalars(
                    select(BasisNotice.tax_object_id)
                    .join(TaxObject, TaxObject.id == BasisNotice.tax_object_id)
                    .where(
                        TaxObject.municipality_id == municipality_id,
                        TaxObject.tax == TaxKind.TRADE_TAX,
                        BasisNotice.year_from <= year,
                    )
                )
            )
        )

    def key(self, subject: int) -> int:
        return subject

    def subjects_of(self, session: Session, municipality_id: int, keys: Sequence[int]) -> list[int]:
        return list(keys)

    def read(
        self, session: Session, municipality: Municipality, year: int, subjects: Sequence[int]
    ) -> list[Case[fig.Facts]]:
        objects = {
            o.id: o
            for o in session.scalars(
                select(TaxObject).where(
                    TaxObject.id.in_(list(subjects)),
                    TaxObject.municipality_id == municipality.id,
                    TaxObject.tax == TaxKind.TRADE_TAX,
                )
            )
        }
        if set(subjects) - set(objects):
            raise NotFound("Dieser Betrieb wurde nicht gefunden.")
        person_ids = sorted({o.person_id for o in objects.values()})
        persons = cases.persons_of(session, person_ids)
        booked = {
            y: booking.booked_per_key_of(session, person_ids, self.kind, y)
            for y in (year, year + 1)
        }
        return [self._case(session, objects[oid], year, persons, booked) for oid in subjects]

    def _case(
        self,
        session: Session,
        obj: TaxObject,
        year: int,
        persons: dict[int, cases.Addressee],
        booked: dict[int, dict[int, booking.Booked]],
    ) -> Case[fig.Facts]:
        per_year = {y: _booked(booked[y][obj.person_id], obj.id) for y in (year, year + 1)}
        claims = [c for y in per_year.values() for cs in y[1].values() for c in cs]
        balances = claim_balances(session, claims)
        paid: dict[str, int] = {}
        for claim in claims:
            k = claim.assessment_key or ""
            paid[k] = paid.get(k, 0) + balances[claim.id].paid_cents
        notice = notice_in_force(session, obj.id, year)
        advance = notice_in_force(session, obj.id, year + 1, advance_payment=True)
        facts = fig.Facts(
            tax_object_id=obj.id,
            reference=obj.reference,
            name=obj.name or "",
            share_cents=share_of(notice).share_cents if notice else None,
            basis_notice_id=notice.id if notice else None,
            basis_notice_date=notice.notice_date if notice else None,
            advance_share_cents=share_of(advance).share_cents if advance else None,
            booked={**per_year[year][0], **per_year[year + 1][0]},
            paid=paid,
            next_year_assessed=last_notice(session, obj.id, year + 1) is not None,
            first_fixed_paid=_first_fixed_paid(session, obj.id, year),
        )
        has_notice = last_notice(session, obj.id, year) is not None
        return Case(persons[obj.person_id], facts, per_year, has_notice)

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

    def count(self, stats: RunStats, case: Case[fig.Facts], notice: Notice | None) -> None:
        stats.businesses += 1
        stats.notices += notice is not None

    def compute(self, case: Case[fig.Facts], year: int, as_of: date, rules: RulesCache) -> Any:
        return fig.compute(case.facts, year, as_of, rules(year), rules.next_year(year))

    def assess(
        self, case: Case[fig.Facts], year: int, as_of: date, rules: RulesCache
    ) -> Assessment | None:
        facts = case.facts
        if facts.share_cents is None and not case.has_notice:
            return None  # no Messbescheid yet: the advance payments stand until one comes
        computed: fig.Computed = self.compute(case, year, as_of, rules)
        figures = computed.figures
        tables = {INSTALMENTS: Table(year, computed.year_targets)}
        if figures.next_year is not None:
            tables[ADVANCES] = Table(year + 1, computed.next_targets)
        statute = rules(year)
        changed = case.has_notice

        def snapshot(rows: dict[str, Schedule], _first: bool, payable: int) -> dict[str, Any]:
            return _snapshot(case, figures, statute, as_of, rows, payable, changed)

        return Assessment(
            tables=tables,
            total_cents=figures.tax_cents + max(0, figures.interest_cents),
            printable=facts.share_cents is not None,
            title=lambda _first: (
                f"Änderungsbescheid über die Gewerbesteuer {year}"
                if changed
                else f"Bescheid über die Gewerbesteuer {year} und die Vorauszahlungen"
            ),
            snapshot=snapshot,
        )


def _snapshot(
    case: Case[fig.Facts],
    figures: fig.Figures,
    rules: TradeTaxRules,
    as_of: date,
    rows: dict[str, Schedule],
    payable: int,
    changed: bool,
) -> dict[str, Any]:
    facts, year = case.facts, figures.year
    verb = "geändert festgesetzt" if changed else "festgesetzt"
    firm = facts.name or case.person.display_name
    intro = (
        f"Auf Grund des Gewerbesteuermessbescheids des Finanzamts vom "
        f"{facts.basis_notice_date:%d.%m.%Y} wird die Gewerbesteuer {year} für Ihren Betrieb "
        f"„{firm}“ (Steuernummer {facts.reference}) wie folgt {verb}."
        if facts.basis_notice_date
        else f"Der Gewerbesteuermessbescheid für {year} wurde aufgehoben; die Gewerbesteuer "
        f"{year} wird auf 0,00 € {verb}."
    )
    start, end = date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()
    lines = [
        {"description": d, "amount_cents": a, "period_start": start, "period_end": end, "kind": k}
        for d, a, k in steps(figures, _interest_detail(facts, figures, rules, as_of))
    ]
    next_rows = rows.get(ADVANCES)
    return {
        "template": TEMPLATE,
        "recipient": recipient_block(case.person, as_of),
        "person_number": case.person.number,
        "intro": intro,
        "legal_basis": rules.legal_basis or rules.source,
        "remedy": rules.remedy,
        "statute_source": rules.source,
        "tax_object_id": facts.tax_object_id,
        "basis_notice_id": facts.basis_notice_id,
        "trade_tax": figures.as_data(),
        "lines": lines,
        "rate_label": "Betrag",
        "instalments": rows[INSTALMENTS].as_data(),
        "instalments_title": f"Gewerbesteuer {year}: Vorauszahlungen und Abschlusszahlung",
        "advances": next_rows.as_data() if next_rows else [],
        "advances_title": f"Vorauszahlungen {year + 1}",
        "overpaid_cents": rows[INSTALMENTS].overpaid_cents
        + (next_rows.overpaid_cents if next_rows else 0),
        "payable_cents": payable,
    }


def _interest_detail(
    facts: fig.Facts, figures: fig.Figures, rules: TradeTaxRules, as_of: date
) -> str:
    """How the § 233a interest was computed, and, for Erstattungszinsen, where they go."""
    if not figures.interest_cents or rules.interest is None:
        return ""
    fixed, paid = fig.interest_inputs(
        facts, figures.advances_fixed_cents, figures.paid_before_cents
    )
    base, months, start = interest_basis(
        figures.tax_cents - fixed,
        max(0, paid - figures.tax_cents),
        figures.year,
        as_of,
        rules.interest,
    )
    detail = (
        f" ({months} volle Monate ab {start:%d.%m.%Y} zu "
        f"{realtax.format_percent(rules.interest.rate_per_month)} je Monat auf "
        f"{format_euro(base)})"
    )
    if figures.interest_cents < 0:
        detail += ", Ihrem Konto gutgeschrieben (ausgezahlt mit der Erstattung oder verrechnet)"
    return detail


def steps(figures: fig.Figures, interest_detail: str = "") -> list[tuple[str, int, str]]:
    """The computation as the notice prints it, step by step: (text, cents, kind), kind
    "step", "result" or "total"."""
    year, tax = figures.year, figures.tax_cents
    hebesatz = realtax.format_percent(figures.hebesatz)
    rows = [
        ("Gewerbesteuermessbetrag (Anteil der Gemeinde)", figures.messbetrag_cents, "step"),
        (f"× Hebesatz {hebesatz} = Gewerbesteuer {year}", tax, "result"),
        (
            "Bisher festgesetzt (Vorauszahlungen und frühere Bescheide)",
            figures.booked_before_cents,
            "step",
        ),
        ("Davon bereits gezahlt", figures.paid_before_cents, "step"),
    ]
    if figures.interest_cents:
        label = "Nachzahlungszinsen" if figures.interest_cents > 0 else "Erstattungszinsen"
        rows.append(
            (f"{label} nach § 233a AO{interest_detail}", abs(figures.interest_cents), "step")
        )
    remaining = tax + figures.interest_cents - figures.paid_before_cents
    if remaining >= 0:
        rows.append((f"Noch zu zahlen für {year}", remaining, "total"))
    else:
        rows.append((f"Erstattung für {year} (Guthaben)", -remaining, "total"))
    return rows


TRADE_TAX = TradeTax()
