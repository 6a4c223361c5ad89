"""How far a reading may differ from last year's before the citizen must confirm it: the water
statute's plausibility band, for the reading card's page and the clerk's entry alike."""

from __future__ import annotations

from core.kernel import clock
from core.levies.water.rules import WaterRules
from core.tenancy.statutes import statute_on
from portal.database import db


def band_percent(municipality_id: int, period: int) -> int:
    statute = statute_on(db(), municipality_id, "water_fee", clock.today())
    return WaterRules.from_data(statute.data, statute.source).plausibility_percent
