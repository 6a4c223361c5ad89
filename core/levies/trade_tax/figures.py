"""What a trade-tax notice computes for one business and year, pure (no database): the tax from
the Messbetrag, the settlement against the advance payments (§ 20 GewStG), § 233a AO interest,
and the advance payments of the next year (§ 19 GewStG) — as the payment targets the pipeline
books (:mod:`core.levies.booking`: only differences) and as :class:`Figures`, what the notice
prints and the approver compares with the figures before.

Keys (per business, so one person's several businesses never mix):
``trade_tax:<year>:<object>:q1`` … ``q4`` (advance payments), ``:late`` (an increase for passed
due dates, due one month after the notice, § 19 (3) S. 3), ``:final`` (Abschlusszahlung, due one
month after the notice, § 20 (2)), ``:interest`` (Nachzahlungszinsen § 233a AO).

How the year's targets settle (§ 20 GewStG): the advance payments fixed stay as they are —
those not paid stay due at their dates (§ 20 (2): "sofort") —, the rest of the tax is the
Abschlusszahlung. A tax below the advance payments fixed lowers them, first what of them is
still unpaid, then what was paid (that becomes credit: refunded or set off, § 20 (3)), the
latest due date first (no source fixes the order among due dates; this one cancels open items
before refunding paid ones). So the year's targets always add up to the tax (plus interest).

Nachzahlungszinsen are booked under the trade-tax key ``:interest`` (one levy kind per notice
in the pipeline); Erstattungszinsen are computed and printed, need the approver like every
refund, and are credited to the business when the notice is issued
(:mod:`core.levies.trade_tax.refund_interest`). Both are the year's interest as a whole: a
later notice books the difference to what stands.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from core.kernel.months import add_months
from core.levies import realtax
from core.levies.booking import Target
from core.levies.trade_tax import rules as tt
from core.levies.trade_tax.rules import TradeTaxRules

LEVY = tt.LEVY
QUARTER_PARTS = ("q1", "q2", "q3", "q4")
ADVANCE_PARTS = (*QUARTER_PARTS, "late")


def key(year: int, tax_object_id: int, part: str) -> str:
    return f"{LEVY}:{year}:{tax_object_id}:{part}"


def tax_of(share_cents: Fraction, rules: TradeTaxRules) -> int:
    """Messbetrag (this municipality's exact share, in cents) × Hebesatz / 100, in cents."""
    if share_cents.denominator == 1:
        return tt.trade_tax(int(share_cents), rules)
    product = share_cents * rules.hebesatz / (100 * realtax.PERCENT)
    if rules.rounding == "half_up":
        return math.floor(product + Fraction(1, 2))
    return math.floor(product)


@dataclass(frozen=True)
class Facts:
    """What is on file for one business and year (plain values)."""

    tax_object_id: int
    reference: str
    name: str
    share_cents: Fraction | None  # the Messbetrag share in force for the year; None: none
    basis_notice_id: int | None
    basis_notice_date: date | None
    advance_share_cents: Fraction | None  # a Vorauszahlungs-Messbetrag for the next year
    booked: dict[str, int]  # what stands per key, both years
    paid: dict[str, int]  # of it, paid, per key
    next_year_assessed: bool  # the next year has its own notice: its advances are its own
    # the advance payments fixed and what was paid of the year when its first notice was
    # issued (None: none yet): the § 233a base of every later notice, which lowered them
    first_fixed_paid: tuple[int, int] | None = None


@dataclass(frozen=True)
class Figures:
    """What the notice prints and the approval page compares (cents; Hebesatz in hundredths
    of a percent)."""

    year: int
    messbetrag_cents: int  # the share, down to the cent, as printed
    hebesatz: int
    tax_cents: int
    advances_fixed_cents: int  # advance payments fixed for the year before this notice
    advances_paid_cents: int  # of them, paid
    booked_before_cents: int  # the year's tax as it stood before (advances, final payment)
    paid_before_cents: int  # of it, paid
    settlement_kind: str  # Abschlusszahlung / Erstattung / ausgeglichen
    settlement_cents: int  # tax − paid: positive to pay, negative refunded
    final_cents: int  # what this notice asks for on top of what stood (at least 0)
    final_due: str  # ISO date
    interest_cents: int  # § 233a AO: positive owed, negative refunded
    next_year: int | None  # the year of the new advance payments (None: none set)
    next_quarters: tuple[int, ...]  # the new advance payment per quarter
    next_late_cents: int  # increase for passed due dates, due one month after the notice
    refund_cents: int  # what this notice pays back (credit) of what was paid

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["next_quarters"] = list(self.next_quarters)
        return data


@dataclass(frozen=True)
class Computed:
    figures: Figures
    year_targets: list[Target]
    next_targets: list[Target]


def _lowered(
    amounts: dict[str, int], paid: dict[str, int], order: list[str], cut: int
) -> dict[str, int]:
    """``amounts`` lowered by ``cut``: the unpaid parts first, then the paid ones, each in
    ``order``; returns the new amounts."""
    new = dict(amounts)
    for paid_too in (False, True):
        for k in order:
            if cut <= 0:
                return new
            floor = 0 if paid_too else min(new[k], paid.get(k, 0))
            part = min(new[k] - floor, cut)
            new[k] -= part
            cut -= part
    return new


def _target(k: str, amount: int, due: date, description: str, label: str, year: int) -> Target:
    return Target(k, amount, due, description, date(year, 1, 1), date(year, 12, 31), label)


def _year_targets(facts: Facts, year: int, tax: int, interest: int, due: date) -> list[Target]:
    """The targets of the assessed year (see the module docstring)."""
    oid = facts.tax_object_id
    keys = [key(year, oid, p) for p in ADVANCE_PARTS]
    fixed = {k: facts.booked.get(k, 0) for k in keys if facts.booked.get(k, 0)}
    cut = max(0, sum(fixed.values()) - tax)
    order = [k for k in reversed(keys) if k in fixed]
    kept = _lowered(fixed, facts.paid, order, cut)
    final = tax - sum(kept.values())
    targets = []
    for i, k in enumerate(keys[:4]):
        if kept.get(k):
            month, day = tt.QUARTERS[i]
            label = f"Vorauszahlung {i + 1}. Quartal"
            targets.append(
                _target(
                    k,
                    kept[k],
                    date(year, month, day),
                    f"Gewerbesteuer {year}, {label}",
                    label,
                    year,
                )
            )
    parts = (
        (keys[4], kept.get(keys[4], 0), "Vorauszahlung (Erhöhung)", "Gewerbesteuer"),
        (key(year, oid, "final"), final, "Abschlusszahlung", "Gewerbesteuer"),
        (key(year, oid, "interest"), interest, "Zinsen § 233a AO", "Zinsen"),
    )
    for k, amount, label, what in parts:
        if amount > 0:
            targets.append(_target(k, amount, due, f"{what} {year}, {label}", label, year))
    return targets


def _refund(facts: Facts, targets: list[Target], prefix: str) -> int:
    """What of the amounts paid on the keys under ``prefix`` the new targets no longer
    cover: it becomes credit (refunded or set off)."""
    after = {t.key: t.amount_cents for t in targets}
    return sum(
        max(0, paid - after.get(k, 0)) for k, paid in facts.paid.items() if k.startswith(prefix)
    )


def _next_targets(
    facts: Facts, year: int, quarter: int, as_of: date, due: date
) -> tuple[list[Target], int]:
    """The advance payments of ``year``: passed due dates keep what stands, an increase for
    them is one amount due one month after the notice, a decrease is a credit at once (§ 19
    (3) GewStG); later due dates carry the new amount. Returns targets and the increase."""
    oid = facts.tax_object_id
    q_keys = [key(year, oid, p) for p in QUARTER_PARTS]
    late_key = key(year, oid, "late")
    passed = [k for k, (m, d) in zip(q_keys, tt.QUARTERS, strict=True) if date(year, m, d) <= as_of]
    booked_passed = {k: facts.booked.get(k, 0) for k in [*passed, late_key]}
    want_passed = quarter * len(passed)
    have = sum(booked_passed.values())
    amounts = dict(booked_passed)
    increase = 0
    if want_passed >= have:
        increase = want_passed - have
        amounts[late_key] += increase
    else:
        amounts = _lowered(amounts, facts.paid, [late_key, *reversed(passed)], have - want_passed)
    for k in q_keys:
        if k not in passed:
            amounts[k] = quarter
    targets = []
    for i, k in enumerate(q_keys):
        m, d = tt.QUARTERS[i]
        label = f"Vorauszahlung {i + 1}. Quartal"
        if amounts.get(k):
            targets.append(
                _target(
                    k, amounts[k], date(year, m, d), f"Gewerbesteuer {year}, {label}", label, year
                )
            )
    if amounts[late_key]:
        label = "Vorauszahlung (Erhöhung)"
        targets.append(
            _target(late_key, amounts[late_key], due, f"Gewerbesteuer {year}, {label}", label, year)
        )
    return targets, increase


def interest_inputs(facts: Facts, fixed: int, paid_before: int) -> tuple[int, int]:
    """The advance payments fixed and the amount paid that § 233a AO interest is computed
    from: as they stood at the year's first notice (a refund lowers the advance payments; the
    interest of a later notice is still the tax less the advance payments fixed, § 233a (3)
    S. 1, and a refund's interest is limited to what was paid, § 233a (3) S. 3)."""
    if facts.first_fixed_paid is None:
        return fixed, paid_before
    first_fixed, first_paid = facts.first_fixed_paid
    return first_fixed, max(first_paid, paid_before)


def _settle(
    facts: Facts,
    tax: int,
    fixed: int,
    paid_before: int,
    year: int,
    as_of: date,
    rules: TradeTaxRules,
) -> tt.Settlement:
    """The settlement of the year, its § 233a interest from :func:`interest_inputs`."""
    interest_fixed, interest_paid = interest_inputs(facts, fixed, paid_before)
    return tt.settle(
        tax,
        paid_before,
        year,
        as_of,
        rules,
        advance_fixed_cents=interest_fixed,
        refundable_paid_cents=interest_paid,
    )


def compute(
    facts: Facts, year: int, as_of: date, rules: TradeTaxRules, next_rules: TradeTaxRules
) -> Computed:
    """The notice of ``year`` for one business on ``as_of`` (pure)."""
    tax = tax_of(facts.share_cents, rules) if facts.share_cents is not None else 0
    oid = facts.tax_object_id
    advance_keys = [key(year, oid, p) for p in ADVANCE_PARTS]
    fixed = sum(facts.booked.get(k, 0) for k in advance_keys)
    paid = sum(min(facts.paid.get(k, 0), facts.booked.get(k, 0)) for k in advance_keys)
    # what stands and is paid of the year before this notice (advances and earlier final)
    tax_keys = [*advance_keys, key(year, oid, "final")]
    booked_before = sum(facts.booked.get(k, 0) for k in tax_keys)
    paid_before = sum(min(facts.paid.get(k, 0), facts.booked.get(k, 0)) for k in tax_keys)
    settlement = _settle(facts, tax, fixed, paid_before, year, as_of, rules)
    due = add_months(as_of, rules.late_due_months)
    year_targets = _year_targets(facts, year, tax, settlement.interest_cents, due)
    refund = _refund(facts, year_targets, key(year, oid, ""))
    final = max(0, tax - booked_before)
    next_year: int | None = year + 1
    quarters: tuple[int, ...] = ()
    next_targets: list[Target] = []
    increase = 0
    if facts.next_year_assessed or as_of.year > year + 1:
        next_year = None  # that year is assessed on its own (or past): its advances are its own
    else:
        basis = tax
        if facts.advance_share_cents is not None:
            basis = tax_of(facts.advance_share_cents, next_rules)
        amount = tt.quarterly_advance(basis)
        quarters = (amount,) * 4
        next_targets, increase = _next_targets(facts, year + 1, amount, as_of, due)
        refund += _refund(facts, next_targets, key(year + 1, oid, ""))
    share = facts.share_cents or Fraction(0)
    figures = Figures(
        year=year,
        messbetrag_cents=math.floor(share),
        hebesatz=rules.hebesatz,
        tax_cents=tax,
        advances_fixed_cents=fixed,
        advances_paid_cents=paid,
        booked_before_cents=booked_before,
        paid_before_cents=paid_before,
        settlement_kind=settlement.kind,
        settlement_cents=settlement.amount_cents,
        final_cents=final,
        final_due=due.isoformat(),
        interest_cents=settlement.interest_cents,
        next_year=next_year,
        next_quarters=quarters,
        next_late_cents=increase,
        refund_cents=refund,
    )
    return Computed(figures, year_targets, next_targets)


def approval_reasons(figures: Figures, rules: TradeTaxRules) -> list[str]:
    """Why a notice needs an approver (German; empty: it is issued at once)."""
    reasons = []
    limit = rules.approval_above_cents
    if limit is not None and figures.tax_cents > limit:
        reasons.append(f"Steuer über der Freigabegrenze von {limit // 100:,} €".replace(",", "."))
    if figures.refund_cents > 0 or figures.interest_cents < 0:
        reasons.append("Erstattung")
    return reasons
