"""The year of an annual run: only years that can still or already be assessed (no database)."""

from datetime import date

import pytest

from core.kernel.errors import ValidationError
from core.levies import run_guards
from core.levies.water.rules import WaterRules

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize("text", ["2022", "2026", "2027", " 2027 "])
def test_years_within_the_assessment_period_and_the_next_year_pass(text: str) -> None:
    assert run_guards.parse_year(text, TODAY) == int(text)


@pytest.mark.parametrize("text", ["1999", "2021", "2028", "2100"])
def test_years_far_from_today_are_refused_in_german(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        run_guards.parse_year(text, TODAY)
    assert f"Für das Jahr {text} ist kein Lauf möglich" in info.value.message
    assert "2022 bis 2027" in info.value.message


@pytest.mark.parametrize("text", ["abc", "-5", "", None, "20 26", "2026.0", "02026", "²⁰²⁶"])
def test_what_is_not_a_year_is_refused_not_replaced(text: str | None) -> None:
    with pytest.raises(ValidationError) as info:
        run_guards.parse_year(text, TODAY)
    assert "vierstellig" in info.value.message


def test_the_reading_deadline_comes_from_the_statute() -> None:
    data = {
        "base_fee_year_cents": {"Q3 4": 6600},
        "price_per_m3_cents": 216,
        "advance_dates": [[2, 15], [8, 15]],
    }
    assert WaterRules.from_data(data, "S").reading_deadline(2026) == date(2026, 12, 31)
    rules = WaterRules.from_data({**data, "reading_deadline_days": 15}, "S")
    assert rules.reading_deadline(2026) == date(2027, 1, 15)
    with pytest.raises(ValidationError):
        WaterRules.from_data({**data, "reading_deadline_days": -1}, "S")
