"""What an import of a bank file did, in counts and cents (no personal data): kept with the
import, shown to the clerk, written to the audit trail."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ImportReport:
    statements: int = 0
    transactions: int = 0
    credits: int = 0
    credits_matched: int = 0  # booked, cleared or returned without a clerk
    booked_cents: int = 0
    cleared: int = 0
    cleared_cents: int = 0
    payouts_debited: int = (
        0  # payout runs' files the bank debited (core.payments.bank.payout_debits)
    )
    payouts_debited_cents: int = 0
    returns: int = 0
    return_fees: int = 0
    return_charges_cents: int = 0  # the bank's charges taken with returns and rejections
    return_charges_passed_on_cents: int = 0  # of which claimed from the debtors (statute)
    mandates_suspended: int = 0
    queued: int = 0
    queued_cents: int = 0
    duplicates: int = 0  # lines known from an earlier import, skipped
    not_booked: int = 0  # entries the bank has not booked yet (status PDNG/INFO), skipped
    rejected: int = 0  # direct debits the bank refused before settlement (pain.002)
    already_imported: list[str] = field(default_factory=list)  # statement ids skipped whole
    import_ids: list[int] = field(default_factory=list)

    @property
    def match_per_mille(self) -> int | None:
        """Share of credits matched without a clerk, in tenths of a per cent (rounded)."""
        if not self.credits:
            return None
        return (self.credits_matched * 1000 + self.credits // 2) // self.credits

    def match_rate_text(self) -> str:
        per_mille = self.match_per_mille
        return "–" if per_mille is None else f"{per_mille // 10},{per_mille % 10} %"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["match_rate_text"] = self.match_rate_text()
        return data
