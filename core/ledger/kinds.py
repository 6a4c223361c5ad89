"""Kinds of claims, their place in the statutory order of allocation and their revenue account.

§ 225 (2) AO (applied to municipal levies through the Länder KAG): without a determination by
the payer, a payment settles fines, coercive fines, tax deductions, the other taxes and levies,
costs, late-filing surcharges, interest and late-payment surcharges (Säumniszuschläge) last.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class AllocationGroup(enum.IntEnum):
    FINE = 1  # Geldbußen
    COERCIVE_FINE = 2  # Zwangsgelder
    TAX_DEDUCTION = 3  # Steuerabzugsbeträge
    LEVY = 4  # übrige Steuern, Gebühren, Beiträge
    COSTS = 5  # Kosten (Mahngebühren, Rücklastschriftkosten)
    LATE_FILING_SURCHARGE = 6  # Verspätungszuschläge
    INTEREST = 7  # Zinsen
    LATE_PAYMENT_SURCHARGE = 8  # Säumniszuschläge


class ClaimKind(enum.StrEnum):
    DOG_TAX = "dog_tax"
    WASTE_FEE = "waste_fee"
    WATER_FEE = "water_fee"
    PROPERTY_TAX = "property_tax"
    TRADE_TAX = "trade_tax"
    ADMIN_FEE = "admin_fee"
    DUNNING_FEE = "dunning_fee"
    RETURN_DEBIT_FEE = "return_debit_fee"
    ENFORCEMENT_COSTS = "enforcement_costs"
    LATE_FILING_SURCHARGE = "late_filing_surcharge"
    INTEREST = "interest"
    LATE_PAYMENT_SURCHARGE = "late_payment_surcharge"
    FINE = "fine"
    COERCIVE_FINE = "coercive_fine"


@dataclass(frozen=True)
class KindInfo:
    label: str  # German, for citizens and clerks
    group: AllocationGroup
    revenue_account: str  # account code in the chart below


KINDS: dict[ClaimKind, KindInfo] = {
    ClaimKind.DOG_TAX: KindInfo("Hundesteuer", AllocationGroup.LEVY, "4010"),
    ClaimKind.WASTE_FEE: KindInfo("Abfallgebühren", AllocationGroup.LEVY, "4020"),
    ClaimKind.WATER_FEE: KindInfo("Wassergebühren", AllocationGroup.LEVY, "4030"),
    ClaimKind.PROPERTY_TAX: KindInfo("Grundsteuer", AllocationGroup.LEVY, "4001"),
    ClaimKind.TRADE_TAX: KindInfo("Gewerbesteuer", AllocationGroup.LEVY, "4003"),
    ClaimKind.ADMIN_FEE: KindInfo("Verwaltungsgebühr", AllocationGroup.LEVY, "4040"),
    ClaimKind.DUNNING_FEE: KindInfo("Mahngebühr", AllocationGroup.COSTS, "4510"),
    ClaimKind.RETURN_DEBIT_FEE: KindInfo("Rücklastschriftkosten", AllocationGroup.COSTS, "4520"),
    ClaimKind.ENFORCEMENT_COSTS: KindInfo("Vollstreckungskosten", AllocationGroup.COSTS, "4530"),
    ClaimKind.LATE_FILING_SURCHARGE: KindInfo(
        "Verspätungszuschlag", AllocationGroup.LATE_FILING_SURCHARGE, "4620"
    ),
    ClaimKind.INTEREST: KindInfo("Zinsen", AllocationGroup.INTEREST, "4630"),
    ClaimKind.LATE_PAYMENT_SURCHARGE: KindInfo(
        "Säumniszuschlag", AllocationGroup.LATE_PAYMENT_SURCHARGE, "4610"
    ),
    ClaimKind.FINE: KindInfo("Geldbuße", AllocationGroup.FINE, "4710"),
    ClaimKind.COERCIVE_FINE: KindInfo("Zwangsgeld", AllocationGroup.COERCIVE_FINE, "4720"),
}

# Accounts every municipality has (created on first use), besides one revenue account per kind.
SYSTEM_ACCOUNTS: dict[str, tuple[str, str]] = {
    "1800": ("Bank (Hauptkonto der Kasse)", "bank"),
    "1810": ("Zahlungsdienstleister (Kartenzahlungen, Verrechnung)", "clearing"),
    "1820": ("Lastschriften im Einzug (Verrechnung mit der Bank)", "clearing"),
    "1830": ("Auszahlungen im Überweisungsausgang (Verrechnung mit der Bank)", "clearing"),
    "1890": ("Ungeklärte Zahlungseingänge (Verwahrgelder)", "suspense"),
    "6750": ("Bankentgelte (Kosten des Geldverkehrs)", "expense"),
    "6760": ("Erstattungszinsen (§ 233a AO)", "expense"),
    **{info.revenue_account: (f"Erträge {info.label}", "revenue") for info in KINDS.values()},
}
