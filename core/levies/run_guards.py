"""What every annual run (dog tax, waste fees, water billing) checks before it books anything.

The year of a run: a year that cannot be assessed any more or not yet is refused, never turned
into another one. Taxes and fees may be assessed only within the four-year assessment period
(Festsetzungsfrist, § 169 Abs. 2 Satz 1 Nr. 2 AO, starting at the end of the year the levy arose,
§ 170 Abs. 1 AO; the Kommunalabgabengesetze of the Länder apply both to local taxes and fees),
and an annual notice is issued ahead for the next year at most.

What a levy checks beyond the year (e.g. the water billing's reading deadline,
:mod:`core.levies.water.guard`) it supplies itself through :meth:`core.levies.pipeline.Levy.start`.
"""

from __future__ import annotations

import re
from datetime import date

from core.kernel.errors import ValidationError

PAST_YEARS = 4  # Festsetzungsfrist, § 169 Abs. 2 Satz 1 Nr. 2 AO
FUTURE_YEARS = 1  # an annual notice ahead for the next year at most

_YEAR = re.compile(r"[0-9]{4}")


def allowed_years(as_of: date) -> range:
    return range(as_of.year - PAST_YEARS, as_of.year + FUTURE_YEARS + 1)


def check_year(year: int, as_of: date) -> int:
    """``year`` if an annual run may be made for it on ``as_of``; else a German error."""
    allowed = allowed_years(as_of)
    if year not in allowed:
        raise ValidationError(
            f"Für das Jahr {year} ist kein Lauf möglich: zulässig sind {allowed[0]} bis "
            f"{allowed[-1]} (vier Jahre Festsetzungsfrist nach § 169 AO, im Voraus nur das "
            "nächste Jahr)."
        )
    return year


def parse_year(text: str | None, as_of: date) -> int:
    """The year a clerk typed (four digits, within :func:`allowed_years`); German errors."""
    cleaned = (text or "").strip()
    if not _YEAR.fullmatch(cleaned):
        raise ValidationError("Bitte geben Sie das Jahr vierstellig an, zum Beispiel 2027.")
    return check_year(int(cleaned), as_of)
