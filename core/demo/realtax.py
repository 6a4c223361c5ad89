"""Demo Hebesatz statutes of the two demo municipalities (property tax and trade tax), as the
data a ``Statute`` row carries, each with the day it takes effect (always a 1 January:
§ 25 (3) GrStG, § 16 (3) GewStG).

Musterstadt (NRW) uses, from the 2025 reform on, separate property-tax rates for residential
and non-residential land as NRW law allows, and charges § 233a AO interest on trade tax;
Beispielhausen (Bavaria) has one B rate, no Grundsteuer C (Bavaria did not introduce it) and
no interest. The rates are examples of plausible size, not real towns'.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core.tenancy.municipalities import Municipality

# NRW abolished the Widerspruch against such notices (§ 110 JustG NRW): the remedy is a suit.
NRW_REMEDY = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Klage beim "
    "Verwaltungsgericht erhoben werden. Einwendungen gegen den Gewerbesteuermessbetrag sind "
    "gegen den Messbescheid des Finanzamts zu richten (§ 351 Abs. 2 AO). Die Klage hat keine "
    "aufschiebende Wirkung (§ 80 Abs. 2 Nr. 1 VwGO)."
)
REFORM = date(2025, 1, 1)  # the reformed Messbeträge apply from 2025 (Grundsteuerreform)
SINCE = date(2020, 1, 1)


def property_tax_statutes(municipality: Municipality) -> list[tuple[date, dict[str, Any]]]:
    if municipality.slug == "musterstadt":
        basis = "§ 1 der Hebesatzsatzung der Stadt Musterstadt"
        return [
            (SINCE, _property(basis, "vom 12.12.2019", {"A": 250, "B": 520})),
            (
                REFORM,
                _property(
                    basis,
                    "vom 10.12.2024",
                    {"A": 290, "B_residential": 595, "B_non_residential": 1080},
                    differentiation_basis=(
                        "Gesetz über die Zulassung örtlich differenzierter Hebesätze bei der "
                        "Grundsteuer B in Nordrhein-Westfalen (2024)"
                    ),
                ),
            ),
        ]
    basis = "§ 1 der Hebesatzsatzung der Gemeinde Beispielhausen"
    return [
        (SINCE, _property(basis, "vom 20.11.2019", {"A": 350, "B": 380}, remedy=REMEDY_BY)),
        (REFORM, _property(basis, "vom 19.11.2024", {"A": 340, "B": 350}, remedy=REMEDY_BY)),
    ]


REMEDY_NW = (  # as the demo's dog tax (core.demo.statutes): no Widerspruch in NRW
    "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Klage beim "
    "Verwaltungsgericht erhoben werden (§ 110 JustG NRW: kein Widerspruchsverfahren). "
    "Die Klage hat keine aufschiebende Wirkung (§ 80 Abs. 2 Satz 1 Nr. 1 VwGO)."
)
REMEDY_BY = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Widerspruch "
    "bei der Gemeinde Beispielhausen oder unmittelbar Klage beim Bayerischen "
    "Verwaltungsgericht erhoben werden (Art. 12 AGVwGO). Widerspruch und Klage haben keine "
    "aufschiebende Wirkung (§ 80 Abs. 2 Satz 1 Nr. 1 VwGO)."
)


def _property(
    basis: str,
    dated: str,
    rates: dict[str, int],
    differentiation_basis: str = "",
    remedy: str = REMEDY_NW,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "hebesatz_percent": rates,
        "small_amounts": True,
        "rounding": "down",
        "late_due_months": 1,
        "legal_basis": f"{basis} {dated} in Verbindung mit §§ 25, 27 bis 31 GrStG",
        "remedy": remedy,
        "objection": remedy != REMEDY_NW,  # core.objections.service: no Widerspruch in NRW
    }
    if differentiation_basis:
        data["differentiation_basis"] = differentiation_basis
    return data


def trade_tax_statutes(municipality: Municipality) -> list[tuple[date, dict[str, Any]]]:
    if municipality.slug == "musterstadt":
        basis = "§ 2 der Hebesatzsatzung der Stadt Musterstadt"
        return [
            (
                SINCE,
                {
                    "hebesatz_percent": 475,
                    "interest": {
                        "rate_per_month_percent": "0,15",
                        "waiting_months": 15,
                        "legal_basis": "§ 233a in Verbindung mit § 238 Abs. 1a AO",
                    },
                    "legal_basis": f"{basis} vom 12.12.2019 in Verbindung mit §§ 16, 19, 20 GewStG",
                    "approval_above_euro": 10000,
                    "remedy": NRW_REMEDY,
                    "objection": False,  # § 110 JustG NRW (core.objections.service)
                },
            )
        ]
    basis = "§ 2 der Hebesatzsatzung der Gemeinde Beispielhausen"
    return [
        (
            SINCE,
            {
                "hebesatz_percent": 330,
                "legal_basis": f"{basis} vom 20.11.2019 in Verbindung mit §§ 16, 19, 20 GewStG",
                "approval_above_euro": 5000,
            },
        )
    ]
