"""What the yearly levies with instalments (dog tax, waste fees) share in the pipeline: the
rules in force when the notice is issued, the instalment targets, and the notice's snapshot.

Their statutes are effective-dated: the months of a year may fall under different statutes
(:class:`core.tenancy.statutes.StatuteCache`); due dates, legal basis and remedy are those of the
statute in force on the day of the notice (for a year assessed ahead, its first month's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol, TypeVar

from core.kernel.months import month_end, month_index
from core.levies.booking import Target
from core.levies.cases import Addressee
from core.levies.schedule import Schedule
from core.notices.periods import Instalment, Line
from core.notices.records import recipient_block


class StatuteText(Protocol):
    """What a notice prints of the statute."""

    @property
    def source(self) -> str: ...
    @property
    def legal_basis(self) -> str: ...
    @property
    def remedy(self) -> str: ...


T = TypeVar("T")


def in_force(rules_for: Callable[[int], T], year: int, as_of: date) -> T:
    """The rules in force on the notice's day, or in the first month of a year assessed ahead
    or back."""
    return rules_for(month_index(as_of) if as_of.year == year else year * 12)


def target(key: str, instalment: Instalment, year: int, due_date: date, description: str) -> Target:
    """The target of one instalment (``description`` e.g. "Hundesteuer 2026, Rate 1")."""
    return Target(
        key=key,
        amount_cents=instalment.amount_cents,
        due_date=due_date,
        description=description,
        period_start=date(year, instalment.first_month, 1),
        period_end=month_end(year, instalment.last_month),
        label=f"Rate {instalment.index}",
    )


def intro(
    first_text: str, levy_phrase: str, *, first: bool, total_cents: int, previous_cents: int
) -> str:
    """The notice's opening sentence: ``first_text`` for a first notice, else the change (more
    or less) of ``levy_phrase``, e.g. "Die Hundesteuer 2026 wird"."""
    if first:
        return first_text
    if total_cents >= previous_cents:
        return (
            f"{levy_phrase} wegen einer Änderung neu festgesetzt. Der Mehrbetrag ist zu den "
            "angegebenen Terminen zu zahlen."
        )
    return (
        f"{levy_phrase} wegen einer Änderung neu festgesetzt. Der Minderbetrag wird mit offenen "
        "Beträgen verrechnet oder Ihnen gutgeschrieben."
    )


def snapshot(
    person: Addressee,
    as_of: date,
    *,
    intro: str,
    rules: StatuteText,
    lines: Sequence[Line],
    rate_label: str,
    rows: Schedule,
    payable_cents: int,
) -> dict[str, Any]:
    """The printed snapshot of a yearly levy's notice."""
    return {
        "recipient": recipient_block(person, as_of),
        "person_number": person.number,
        "intro": intro,
        "legal_basis": rules.legal_basis or rules.source,
        "remedy": rules.remedy,
        "statute_source": rules.source,
        "lines": [
            {
                "description": ln.description,
                "period_start": ln.period_start.isoformat(),
                "period_end": ln.period_end.isoformat(),
                "months": ln.months,
                "annual_cents": ln.annual_cents,
                "amount_cents": ln.amount_cents,
            }
            for ln in lines
        ],
        "rate_label": rate_label,
        "instalments": rows.as_data(),
        "overpaid_cents": rows.overpaid_cents,
        "payable_cents": payable_cents,
    }
