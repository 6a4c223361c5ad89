"""Enforcement costs (Vollstreckungskosten) as effective-dated statute data (levy
``enforcement``), booked as ancillary claims (§ 225 AO group "Kosten").

The costs of enforcement are Land law: in NRW the Kostenordnung zum Verwaltungsvollstreckungs-
gesetz (VO VwVG NRW, § 7 ff.: Gebühren für Pfändung, Wegnahme, Verwertung, plus Auslagen; shared
DOMAIN.md "Late payment and dunning"), federally §§ 337 ff. AO. The cash office keeps the rates
the municipality applies as statute data, amounts in cents::

    {"costs": [{"code": "pfaendung", "name": "Pfändungsgebühr", "amount_cents": 2600,
                "legal_basis": "VO VwVG NRW"}, ...],
     "legal_basis": "…"}

Each cost is booked when the clerk records the act that causes it (core.dunning.enforcement
.book_cost); nothing is charged merely for handing a case over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.tenancy.statutes import statute_on

LEVY = "enforcement"


@dataclass(frozen=True)
class Cost:
    code: str
    name: str
    amount_cents: int
    legal_basis: str


@dataclass(frozen=True)
class CostRules:
    source: str
    costs: tuple[Cost, ...]
    legal_basis: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> CostRules:
        try:
            costs = tuple(_cost(raw) for raw in data["costs"])
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"Vollstreckungskosten unvollständig: {exc}") from exc
        codes = [c.code for c in costs]
        if len(set(codes)) != len(codes):
            raise ValidationError("Jede Kostenart der Vollstreckung braucht ein eigenes Kürzel.")
        return cls(source, costs, str(data.get("legal_basis", "")))

    def cost(self, code: str) -> Cost:
        for cost in self.costs:
            if cost.code == code:
                return cost
        raise ValidationError(f"Die Kostenart „{code}“ ist in der Kostenordnung nicht vorgesehen.")


def _cost(raw: Mapping[str, Any]) -> Cost:
    code, name = str(raw["code"]).strip(), str(raw["name"]).strip()
    amount = raw["amount_cents"]
    if not code or not name:
        raise ValidationError("Eine Kostenart der Vollstreckung braucht Kürzel und Namen.")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"„{name}“: der Betrag muss in Cent und positiv sein.")
    return Cost(code, name, amount, str(raw.get("legal_basis", "")))


def costs_on(session: Session, municipality_id: int, day: date) -> CostRules:
    """The enforcement costs of the municipality in force on ``day``."""
    statute = statute_on(session, municipality_id, LEVY, day)
    return CostRules.from_data(statute.data, statute.source)
