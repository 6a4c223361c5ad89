"""Every kind of job the back office and the command line can start (core.jobs' registry)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from core.delivery.jobs import PostalFallback
from core.dunning.instalment_jobs import CheckInstalmentPlans
from core.dunning.jobs import PREPARE, BookDunningRun
from core.dunning.letter_jobs import RenderDunningLetters
from core.jobs.kinds import register
from core.levies.dog_tax.assessment import DOG_TAX
from core.levies.dog_tax.assessment import RunStats as DogTaxStats
from core.levies.jobs import AnnualRun
from core.levies.property_tax.assessment import PROPERTY_TAX
from core.levies.property_tax.assessment import RunStats as PropertyTaxStats
from core.levies.waste.assessment import WASTE_FEE
from core.levies.waste.assessment import RunStats as WasteStats
from core.levies.water.assessment import WATER
from core.levies.water.assessment import RunStats as WaterStats
from core.levies.water.models import Meter
from core.notices.jobs import RenderNotices
from core.retention.jobs import RetentionJob


def _persons_summary(levy: str) -> Callable[[int, Mapping[str, int]], str]:
    def summary(year: int, counts: Mapping[str, int]) -> str:
        return (
            f"{levy} {year}: {counts.get('persons', 0)} Personen geprüft, "
            f"{counts.get('notices', 0)} Bescheide erstellt."
        )

    return summary


def _water_summary(year: int, counts: Mapping[str, int]) -> str:
    waiting = counts.get("waiting", 0)
    return (
        f"Wasser {year}: {counts.get('meters', 0)} Zähler abgerechnet, "
        f"{counts.get('notices', 0)} Bescheide, davon {counts.get('estimated', 0)} geschätzt."
        + (f" {waiting} Zählerstände warteten noch auf Prüfung." if waiting else "")
    )


def _meter_label(session: Session, key: int) -> str:
    meter = session.get(Meter, key)
    return f"Zähler {meter.number}" if meter is not None else f"Zähler (id {key})"


DOG_TAX_RUN = register(
    AnnualRun(
        DOG_TAX,
        name="dog_tax",
        title="Hundesteuer (Jahresveranlagung)",
        short="Hundesteuer",
        unit="Halterinnen und Halter",
        summary=_persons_summary("Hundesteuer"),
        stats=DogTaxStats,
    )
)
WASTE_FEE_RUN = register(
    AnnualRun(
        WASTE_FEE,
        name="waste_fee",
        title="Abfallgebühren (Jahresveranlagung)",
        short="Abfallgebühren",
        unit="Gebührenpflichtige",
        summary=_persons_summary("Abfallgebühren"),
        stats=WasteStats,
    )
)
WATER_RUN = register(
    AnnualRun(
        WATER,
        name="water_fee",
        title="Wasser (Verbrauchsabrechnung des Jahres)",
        short="Wasserabrechnung",
        unit="Zähler",
        summary=_water_summary,
        stats=WaterStats,
        label=_meter_label,
    )
)
PROPERTY_TAX_RUN = register(
    AnnualRun(
        PROPERTY_TAX,
        name="property_tax",
        title="Grundsteuer (Jahresveranlagung)",
        short="Grundsteuer",
        unit="Eigentümerinnen und Eigentümer",
        summary=_persons_summary("Grundsteuer"),
        stats=PropertyTaxStats,
    )
)
RENDER_NOTICES = register(RenderNotices())
DUNNING_RUN = register(BookDunningRun())
DUNNING_LETTERS = register(RenderDunningLetters())
DUNNING_PREVIEW = register(PREPARE)
INSTALMENT_PLANS = register(CheckInstalmentPlans())
POSTAL_FALLBACK = register(PostalFallback())
RETENTION = register(RetentionJob())
