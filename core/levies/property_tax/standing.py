"""The property-tax notice "bis auf Weiteres" (§ 27 (1) GrStG: the tax is set for the calendar
year, and the notice applies to the following years as long as nothing changes; DOMAIN.md
"Property tax notices are usually issued for this and the following years until a new
notice"). A later year's run relies on the standing notice:

* The **standing notice** of an owner for a year is their latest property-tax notice of an
  earlier year (:func:`standing_of`).
* Each notice stores its **basis** (:func:`basis_of`): per plot the tax object, the basis notice
  (Messbescheid) ruling it, the kind of land, the Messbetrag and the Hebesatz; and the § 28
  due dates of the year as month and day with their amounts (so the small-amount rules and the
  annual payment on application, which change the dates the notice names, are part of it).
* If the year has no notice of its own, its basis is the standing notice's, that notice was
  issued before the year began and nothing of the year is booked on another notice
  (:func:`relies_on`), the year's instalments are booked **on the standing notice** (its id
  and Kassenzeichen, on the § 28 due dates, the claim's subject naming the notice) and no
  notice is issued. Anything else —
  a new or changed Messbescheid, another Hebesatz, a plot added or gone (also by a change of
  owner), another payment mode — has a new notice issued as before.

An owner left without plots (all sold or cancelled) whose standing notice still assesses plots
gets a notice for the year that ends it (0 €; :func:`lapsing`), so nothing stands "bis auf
Weiteres" for plots they no longer own.

A public announcement of an unchanged tax under § 27 (3) GrStG is not needed for that: the
Hebesatz is part of the basis, so a changed one always gets notices.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.levies import booking
from core.levies.property_tax import payments
from core.levies.property_tax.plots import Basis, Plot, StandingNotice
from core.levies.property_tax.rules import LEVY, PropertyTaxRules, annual_tax, instalments
from core.notices.records import Notice


def basis_of(
    held: Sequence[Plot], rules: PropertyTaxRules, year: int, *, annual_payment: bool
) -> Basis:
    """What a notice for ``year`` rests on (JSON, stored with the notice; see the module
    docstring). Equal bases give equal taxes and due dates in every year."""
    total = sum(annual_tax(p.messbetrag_cents, p.kind, rules) for p in held)
    dates = instalments(total, year, rules, annual_payment=annual_payment)
    return {
        "plots": sorted(
            [p.object_id, p.basis_notice_id, p.kind, p.messbetrag_cents, rules.rate(p.kind)]
            for p in held
        ),
        "schedule": [[p.due_date.strftime("%m-%d"), p.amount_cents] for p in dates],
    }


def relies_on(
    standing: StandingNotice | None, basis: Basis, booked: booking.Booked, year: int
) -> bool:
    """Whether ``year``, without a notice of its own, is booked on ``standing``: it rests on
    the same basis, the notice was issued before the year began (one issued later could not
    be paid by on the year's first due dates: the year gets its own notice, which makes
    passed dates due a month after it, § 31 GrStG), and what is booked for the year (if
    anything) was booked on it — a year booked on another notice and now changed needs a
    notice of the change (§ 30 GrStG)."""
    if standing is None or standing.basis != basis or standing.issued_on.year >= year:
        return False
    return all(c.notice_id == standing.notice_id for cs in booked[1].values() for c in cs)


def lapses(standing: StandingNotice | None, has_notice: bool) -> bool:
    """Whether an owner with no plot left (sold, cancelled) needs a notice ending the standing
    one: it still assesses plots, and the year has no notice yet."""
    return (
        not has_notice
        and standing is not None
        and standing.basis is not None
        and bool(standing.basis.get("plots"))
    )


def lapsing(session: Session, municipality_id: int, year: int, known: Collection[int]) -> set[int]:
    """The owners besides ``known`` (those with plots or claims in ``year``) whose standing
    notice still assesses plots: they get a notice that ends it (:func:`lapses`)."""
    earlier = set(
        session.scalars(
            select(Notice.person_id)
            .where(
                Notice.municipality_id == municipality_id,
                Notice.levy == LEVY,
                Notice.year < year,
            )
            .distinct()
        )
    ) - set(known)
    found = standing_of(session, municipality_id, earlier, year)
    return {pid for pid, notice in found.items() if lapses(notice, has_notice=False)}


def standing_of(
    session: Session, municipality_id: int, person_ids: Collection[int], year: int
) -> dict[int, StandingNotice]:
    """Per owner the latest property-tax notice of a year before ``year`` (a query per 2,000
    owners)."""
    ids = list(person_ids)
    found: dict[int, StandingNotice] = {}
    for start in range(0, len(ids), 2000):
        rows = session.execute(
            select(
                Notice.person_id,
                Notice.id,
                Notice.number,
                Notice.issued_on,
                Notice.kassenzeichen,
                Notice.data["basis"],
            )
            .where(
                Notice.person_id.in_(ids[start : start + 2000]),
                Notice.municipality_id == municipality_id,
                Notice.levy == LEVY,
                Notice.year < year,
            )
            .order_by(Notice.person_id, Notice.year, Notice.id)
        )
        for pid, nid, number, issued_on, kassenzeichen, basis in rows:
            found[pid] = StandingNotice(nid, number, issued_on, kassenzeichen, basis or None)
    return found


def targets(
    year: int,
    rules: PropertyTaxRules,
    total_cents: int,
    standing: StandingNotice,
    *,
    annual_payment: bool,
) -> list[booking.Target]:
    """The year's § 28 instalments on their due dates, booked on ``standing``."""
    return [
        booking.Target(
            key=payments.key(year, p.due_date),
            amount_cents=p.amount_cents,
            due_date=p.due_date,
            description=f"Grundsteuer {year}, {p.label} ({standing.reference})",
            period_start=date(year, 1, 1),
            period_end=date(year, 12, 31),
            label=p.label,
        )
        for p in instalments(total_cents, year, rules, annual_payment=annual_payment)
    ]
