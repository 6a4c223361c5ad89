"""When a refund needs a second signature (four-eyes principle): the limits are sums, not
single amounts, so that splitting a refund into pieces does not avoid the approver.

A refund needs an approver when, counting every refund not rejected (executed or still
waiting for approval) together with the new one,

* the refunds of the **same payment** exceed ``per_payment_cents``, or
* the refunds the **same clerk** requested on the **same day** exceed ``per_clerk_day_cents``.

Legal basis: municipal budget law asks for internal controls of payments (e.g. § 31 KomHVO
NRW, "Sicherheitsstandards und interne Aufsicht"; the other Länder have equivalent rules), which
each municipality sets out in its Dienstanweisung für die Finanzbuchhaltung / Kassenordnung.
No law fixes the amounts, so they are effective-dated statute data per municipality (levy
``refunds``, keys ``approval_per_payment_cents`` and ``approval_per_clerk_day_cents``, with the
Dienstanweisung as ``source``). Without such a statute the municipality's setting
``Municipality.refund_approval_cents`` (default 200.00 €) applies to both sums — the strict
choice, documented here: a clerk alone refunds at most that much per payment and per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.kernel.errors import NotFound
from core.kernel.money import format_euro
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import statute_on

REFUND_LEVY = "refunds"


@dataclass(frozen=True)
class RefundLimits:
    per_payment_cents: int  # refunds of one payment together, beyond this: approver
    per_clerk_day_cents: int  # refunds one clerk requests on one day together, beyond: approver
    source: str

    @classmethod
    def from_data(cls, data: dict[str, Any], source: str) -> RefundLimits:
        values = []
        for key in ("approval_per_payment_cents", "approval_per_clerk_day_cents"):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be a non-negative integer (cents)")
            values.append(value)
        return cls(per_payment_cents=values[0], per_clerk_day_cents=values[1], source=source)


def limits_on(session: Session, municipality: Municipality, day: date) -> RefundLimits:
    """The limits in force on ``day`` (statute ``refunds``, else the municipality's setting)."""
    try:
        statute = statute_on(session, municipality.id, REFUND_LEVY, day)
    except NotFound:
        threshold = municipality.refund_approval_cents
        return RefundLimits(threshold, threshold, "Einstellung der Kommune (Freigabegrenze)")
    return RefundLimits.from_data(statute.data, statute.source)


@dataclass(frozen=True)
class RefundSums:
    """What was already refunded or requested (not rejected), before the new refund."""

    payment_cents: int  # on this payment
    clerk_day_cents: int  # by this clerk on this day


def approval_reason(limits: RefundLimits, sums: RefundSums, amount_cents: int) -> str | None:
    """Why this refund needs an approver (German, for clerk and approver), or None."""
    reasons = []
    if sums.payment_cents + amount_cents > limits.per_payment_cents:
        reasons.append(
            "die Erstattungen dieser Zahlung ergeben zusammen "
            f"{format_euro(sums.payment_cents + amount_cents)} "
            f"(Grenze {format_euro(limits.per_payment_cents)})"
        )
    if sums.clerk_day_cents + amount_cents > limits.per_clerk_day_cents:
        reasons.append(
            "die an diesem Tag von derselben Person beantragten Erstattungen ergeben zusammen "
            f"{format_euro(sums.clerk_day_cents + amount_cents)} "
            f"(Grenze {format_euro(limits.per_clerk_day_cents)})"
        )
    return "; ".join(reasons) or None
