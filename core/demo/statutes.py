"""Example statutes of the two demo municipalities, as the data a `Statute` row carries.

Modelled on real statutes (DOMAIN.md), one function per levy; the demo enacts them
(core/demo/tenancy.py) and the tests' factories use Musterstadt's (tests/factories.py).
"""

from __future__ import annotations

from typing import Any

from core.tenancy.municipalities import Municipality


def dog_tax_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo statutes, modelled on real ones (DOMAIN.md "Dog tax"): Musterstadt like a town in
    NRW with graded rates, Beispielhausen like a Bavarian municipality with one rate."""
    if municipality.slug == "musterstadt":
        return _dog_tax_musterstadt()
    return _dog_tax_beispielhausen()


def _dog_tax_musterstadt() -> dict[str, Any]:
    remedy_nw = (
        "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Klage beim "
        "Verwaltungsgericht erhoben werden (§ 110 JustG NRW: kein Widerspruchsverfahren). "
        "Die Klage hat keine aufschiebende Wirkung (§ 80 Abs. 2 Satz 1 Nr. 1 VwGO)."
    )
    return {
        "rates_cents": [9600, 13200, 15600],
        "dangerous_rates_cents": [60000, 72000, 72000],
        "listed_breeds": [
            "Pittbull-Terrier",
            "American Staffordshire Terrier",
            "Staffordshire Bullterrier",
            "Bullterrier",
            "Rottweiler",
            "Mastiff",
            "Tosa Inu",
            "Dogo Argentino",
            "Fila Brasileiro",
        ],
        "liability_start": "month_after",
        "due_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
        "late_due_months": 1,
        "min_age_months": 3,
        "exempt_dogs_count": False,
        "exemptions": {
            "assistance": {"label": "Assistenz-/Blindenführhund", "kind": "exempt"},
            "shelter": {"label": "Hund aus dem Tierheim", "kind": "exempt", "months": 12},
            "benefits": {
                "label": "Bezug von Leistungen nach SGB II/XII",
                "kind": "reduced",
                "rate_cents": 4800,
            },
        },
        "replacement_tag_fee_cents": 500,
        "legal_basis": (
            "§§ 1 bis 9 der Hundesteuersatzung der Stadt Musterstadt vom 12.12.2019 in der "
            "Fassung vom 10.12.2024 in Verbindung mit §§ 2, 3 und 20 des "
            "Kommunalabgabengesetzes für das Land Nordrhein-Westfalen (KAG NRW)."
        ),
        "remedy": remedy_nw,
        "objection": False,  # § 110 JustG NRW (core.objections.service)
    }


def _dog_tax_beispielhausen() -> dict[str, Any]:
    remedy_by = (
        "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Widerspruch "
        "bei der Gemeinde Beispielhausen oder unmittelbar Klage beim Bayerischen "
        "Verwaltungsgericht erhoben werden (Art. 12 AGVwGO). Widerspruch und Klage haben keine "
        "aufschiebende Wirkung (§ 80 Abs. 2 Satz 1 Nr. 1 VwGO)."
    )
    return {
        "rates_cents": [8400, 12000],
        "dangerous_rates_cents": [84000],
        "listed_breeds": [
            "Pit-Bull",
            "Bandog",
            "American Staffordshire Terrier",
            "Staffordshire Bullterrier",
            "Tosa Inu",
        ],
        "liability_start": "same_month",
        "due_dates": [[7, 1]],
        "late_due_months": 1,
        "min_age_months": 4,
        "exempt_dogs_count": True,
        "exemptions": {
            "assistance": {"label": "Assistenz-/Blindenführhund", "kind": "exempt"},
        },
        "replacement_tag_fee_cents": 400,
        "legal_basis": (
            "§§ 1 bis 8 der Satzung über die Erhebung der Hundesteuer der Gemeinde "
            "Beispielhausen vom 01.10.2021 in Verbindung mit Art. 3 des Kommunalabgabengesetzes "
            "(KAG) für Bayern."
        ),
        "remedy": remedy_by,
    }


def waste_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo waste-fee statutes (DOMAIN.md "Waste fees"): Musterstadt with the Eichenzell table
    (monthly cents), Beispielhausen with a smaller table of its own."""
    if municipality.slug == "musterstadt":
        return {
            "base_fee_per_resident_month_cents": 230,
            "bin_fees_month_cents": {
                "120": {"fortnightly": 616, "four_weekly": 308},
                "240": {"fortnightly": 1232, "four_weekly": 616},
                "360": {"fortnightly": 1848, "four_weekly": 924},
                "660": {"fortnightly": 3389, "four_weekly": 1694},
                "1100": {"fortnightly": 5648, "four_weekly": 2824},
            },
            "liability_start": "month_after",
            "due_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
            "late_due_months": 1,
            "min_litres_per_resident_week": 10,
            "legal_basis": (
                "§§ 1 bis 12 der Abfallgebührensatzung der Stadt Musterstadt vom 04.12.2023 in "
                "Verbindung mit §§ 4 und 6 des Kommunalabgabengesetzes für das Land "
                "Nordrhein-Westfalen (KAG NRW)."
            ),
            "remedy": (
                "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Klage beim "
                "Verwaltungsgericht erhoben werden (§ 110 JustG NRW)."
            ),
            "objection": False,  # § 110 JustG NRW (core.objections.service)
        }
    return {
        "base_fee_per_resident_month_cents": 180,
        "bin_fees_month_cents": {
            "80": {"weekly": 890, "fortnightly": 445},
            "120": {"weekly": 1290, "fortnightly": 645},
            "240": {"weekly": 2480, "fortnightly": 1240},
        },
        "liability_start": "same_month",
        "due_dates": [[3, 1], [9, 1]],
        "late_due_months": 1,
        "min_litres_per_resident_week": 15,
        "legal_basis": (
            "§§ 1 bis 9 der Satzung über die Gebühren für die Abfallentsorgung der Gemeinde "
            "Beispielhausen vom 20.11.2022 in Verbindung mit Art. 8 des Kommunalabgabengesetzes "
            "(KAG) für Bayern."
        ),
        "remedy": (
            "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe "
            "Widerspruch bei der Gemeinde Beispielhausen oder unmittelbar Klage beim Bayerischen "
            "Verwaltungsgericht erhoben werden (Art. 12 AGVwGO)."
        ),
    }


def sepa_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo direct-debit rules (DOMAIN.md "SEPA direct debit"): 14 days' pre-notification,
    36 months' lapse, bank charges of a return passed on where the debtor is responsible."""
    return {
        "legal_basis": (
            f"Kassen- und Gebührenordnung ({municipality.name}), Abschnitt Lastschriftverfahren; "
            "SEPA Core Direct Debit Scheme Rulebook (EPC016-09), Abschnitte 4.5 und 4.6.1"
        ),
        "prenotification_days": 14,
        "mandate_lapse_months": 36,
        "return_fee_cents": 300 if municipality.slug == "musterstadt" else 450,
        # Where the bank states its charges for a return, those are claimed instead.
        "pass_on_bank_charges": True,
        # Returns the debtor is responsible for (account closed or blocked, no funds, no
        # mandate, refused): the bank's charge is passed on.
        "return_fee_reasons": ["AC01", "AC04", "AC06", "AM04", "MD01", "MS02"],
        # The account or the mandate is gone: collect no more until a clerk or the debtor acts.
        "suspend_mandate_reasons": ["AC01", "AC04", "AC06", "MD01", "MD07", "MS02"],
    }


def refund_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo four-eyes limits for refunds (payments.card.refund_limits: no law sets them)."""
    return {
        "legal_basis": (
            f"Dienstanweisung für die Finanzbuchhaltung ({municipality.name}), Abschnitt "
            "Erstattungen (Vier-Augen-Prinzip), nach § 31 KomHVO NRW"
        ),
        "approval_per_payment_cents": 20000,
        "approval_per_clerk_day_cents": 100000,
    }


def water_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo water statutes (DOMAIN.md "Water": 66 € base fee for Q3 4, 2.16 €/m³, 7 % VAT)."""
    musterstadt = municipality.slug == "musterstadt"
    return {
        "base_fee_year_cents": {"Q3 4": 6600, "Q3 10": 15840}
        if musterstadt
        else {"Q3 4": 7200, "Q3 10": 17280},
        "price_per_m3_cents": 216 if musterstadt else 198,
        "vat_basis_points": 700,
        "plausibility_percent": 50,
        "reading_deadline_days": 15,  # Ablesefrist: readings by 15 January of the next year
        "advance_dates": [[2, 15], [5, 15], [8, 15], [11, 15]] if musterstadt else [[3, 1], [9, 1]],
        "legal_basis": (
            f"Gebührensatzung zur Wasserversorgungssatzung ({municipality.name}) in Verbindung "
            "mit der Verordnung über Allgemeine Bedingungen für die Versorgung mit Wasser "
            "(AVBWasserV) und dem Kommunalabgabengesetz."
        ),
        "remedy": (
            "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch "
            "erhoben oder Klage beim Verwaltungsgericht eingereicht werden."
        ),
    }


def dunning_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo dunning procedures (DOMAIN.md "Late payment and dunning"): Musterstadt with the NRW
    fee (§ 9 VO VwVG NRW, once per claim), Beispielhausen with the federal VwVG § 19 (2) model
    standing in for Bavarian law, which the demo does not model."""
    musterstadt = municipality.slug == "musterstadt"
    fee = {"model": "nrw"} if musterstadt else {"model": "federal"}
    return {
        "levels": [
            {"name": "Zahlungserinnerung", "days_after_due": 7, "payment_days": 7},
            {"name": "Mahnung", "days_after_due": 21, "payment_days": 7, "fee": fee},
            {
                "name": "Ankündigung der Vollstreckung",
                "days_after_due": 42,
                "payment_days": 14,
                "fee": fee,
            },
        ],
        "surcharges": True,
        "tolerance_cents": 500,
        "delivery_days": 4,
        "legal_basis": (
            "§ 19 VwVG NRW, § 9 VO VwVG NRW, § 240 AO in Verbindung mit § 12 KAG NRW"
            if musterstadt
            else "§ 240 AO in Verbindung mit Art. 13 KAG (Bayern); Mahngebühr nach dem Modell "
            "des § 19 Abs. 2 VwVG (Demo)"
        ),
    }


def enforcement_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo enforcement costs (core.dunning.enforcement_costs): Land law, NRW Kostenordnung zum
    VwVG NRW (VO VwVG NRW § 7 ff.), Bavaria Art. 26 VwZVG with the federal rates of §§ 337 ff.
    AO standing in; the amounts are demo rates, to be checked against the Land's ordinance in
    force before real use."""
    musterstadt = municipality.slug == "musterstadt"
    basis = "VO VwVG NRW § 7 ff. (Demo-Betrag)" if musterstadt else "§§ 337 ff. AO (Demo-Betrag)"
    return {
        "costs": [
            {
                "code": "pfaendung",
                "name": "Pfändungsgebühr",
                "amount_cents": 2600,
                "legal_basis": basis,
            },
            {
                "code": "wegnahme",
                "name": "Wegnahmegebühr",
                "amount_cents": 2600,
                "legal_basis": basis,
            },
            {
                "code": "auslagen",
                "name": "Auslagen (Zustellung)",
                "amount_cents": 350,
                "legal_basis": basis,
            },
        ],
        "legal_basis": (
            "Kostenordnung zum Verwaltungsvollstreckungsgesetz NRW (VO VwVG NRW)"
            if musterstadt
            else "Art. 26 VwZVG (Bayern) in Verbindung mit §§ 337 ff. AO (Demo)"
        ),
    }


def instalment_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo rules for deferrals and instalments (§ 222 AO; interest §§ 234, 238, 239 AO):
    straight through up to 1,000 € and 6 months, otherwise a clerk decides."""
    return {
        "auto_max_cents": 100000,
        "auto_max_months": 6,
        "max_months": 24,
        "max_instalments": 24,
        "min_instalment_cents": 2500,
        "interest_per_mille_per_month": 5,  # § 238 (1) AO: 0.5 % per full month
        "interest_base_step_cents": 5000,  # § 238 (2) AO: base rounded down to 50 €
        "interest_waived_below_cents": 1000,  # § 239 (2) S. 2 AO: under 10 € not charged
        "late_days": 14,
        "legal_basis": (
            f"Stundungsrichtlinie ({municipality.name}) in Verbindung mit §§ 222, 234, 238, 239 AO "
            "und § 12 KAG"
        ),
    }
