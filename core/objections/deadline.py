"""The objection period (pure): one month after the notice was made known, ending on a working day.

§ 355 (1) AO and § 70 (1) VwGO: the objection is to be lodged within one month after the notice
was made known (Bekanntgabe, for an electronic or postal notice its deemed delivery date:
§ 122 (2), § 122a (4) AO). The month ends on the day of the next month with the same number, or
that month's last day (§ 108 (1) AO with § 188 (2), (3) BGB: core.kernel.months.add_months);
a period ending on a Saturday, Sunday or public holiday of the Land ends on the next working day
(§ 108 (3) AO; core.tenancy.holidays)."""

from __future__ import annotations

from datetime import date

from core.kernel.months import add_months
from core.tenancy.holidays import next_working_day


def objection_deadline(made_known_on: date, land: str) -> date:
    """The last day to lodge an objection against a notice made known on ``made_known_on``."""
    return next_working_day(add_months(made_known_on, 1), land)


def suit_deadline(made_known_on: date, land: str) -> date:
    """The last day to bring a suit against a Widerspruchsbescheid made known on
    ``made_known_on``: one month (§ 74 (1) VwGO), counted as above (§ 57 (2) VwGO with § 222 (1)
    ZPO and § 188 (2) BGB), moved to the next working day (§ 222 (2) ZPO)."""
    return objection_deadline(made_known_on, land)
