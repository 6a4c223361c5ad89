"""The municipality's direct-debit rules (statute data, levy ``sepa``): pre-notification
period, mandate lapse, return fees; and the consent text of the mandate that follows from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import statute_on

SEPA_LEVY = "sepa"  # the statute "levy" that holds the municipality's direct-debit rules


@dataclass(frozen=True)
class SepaRules:
    """The municipality's direct-debit rules (statute data, levy ``sepa``)."""

    prenotification_days: int  # DOMAIN.md: at least 14 days unless a shorter period is agreed
    mandate_lapse_months: int  # rulebook: 36 months without a collection
    return_fee_cents: int  # flat passed-on bank charges for a return (0: none)
    # Claim what the bank actually charged for a return (where it states its charges) instead
    # of the flat fee; only for ``return_fee_reasons`` (core.payments.bank.returns).
    pass_on_bank_charges: bool
    return_fee_reasons: frozenset[str]  # reason codes the debtor is responsible for
    suspend_reasons: frozenset[str]  # reason codes after which the mandate is not used again
    source: str

    @classmethod
    def from_data(cls, data: dict[str, Any], source: str) -> SepaRules:
        days = int(data["prenotification_days"])
        if not 1 <= days <= 60:
            raise ValueError("prenotification_days must be between 1 and 60")
        fee = data.get("return_fee_cents", 0)
        if not isinstance(fee, int) or fee < 0:
            raise ValueError("return_fee_cents must be a non-negative integer (cents)")
        return cls(
            prenotification_days=days,
            mandate_lapse_months=int(data.get("mandate_lapse_months", 36)),
            return_fee_cents=fee,
            pass_on_bank_charges=data.get("pass_on_bank_charges", False) is True,
            return_fee_reasons=frozenset(data.get("return_fee_reasons", [])),
            suspend_reasons=frozenset(data.get("suspend_mandate_reasons", [])),
            source=source,
        )


def rules_on(session: Session, municipality_id: int, day: date) -> SepaRules:
    statute = statute_on(session, municipality_id, SEPA_LEVY, day)
    return SepaRules.from_data(statute.data, statute.source)


def consent_text(municipality: Municipality, rules: SepaRules) -> str:
    """The mandate text of the SEPA Core rulebook in the wording of the German banks."""
    text = (
        f"Ich ermächtige die {municipality.cash_office_name} "
        f"(Gläubiger-Identifikationsnummer {municipality.creditor_id}), Zahlungen von meinem "
        "Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein Kreditinstitut an, die "
        f"von der {municipality.cash_office_name} auf mein Konto gezogenen Lastschriften "
        "einzulösen.\n"
        "Hinweis: Ich kann innerhalb von acht Wochen, beginnend mit dem Belastungsdatum, die "
        "Erstattung des belasteten Betrages verlangen. Es gelten dabei die mit meinem "
        "Kreditinstitut vereinbarten Bedingungen."
    )
    if rules.prenotification_days < 14:
        text += (
            "\nDie Frist für die Vorabankündigung (Pre-Notification) wird auf "
            f"{rules.prenotification_days} Tage verkürzt."
        )
    return text
