"""Retention periods (core.retention.rules): the due date is the 1 January after the end of the
year the record was made plus the period (§ 147 (4) AO) — worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from core.kernel.errors import ValidationError
from core.retention.rules import (
    CATEGORIES,
    RetentionRules,
    category_of_document,
    due_on,
    is_due,
)


@pytest.mark.parametrize(
    ("made", "years", "due"),
    [
        (date(2015, 3, 1), 10, date(2026, 1, 1)),  # the example of the issue
        (date(2015, 12, 31), 10, date(2026, 1, 1)),
        (date(2016, 1, 1), 10, date(2027, 1, 1)),
        (date(2019, 7, 15), 6, date(2026, 1, 1)),  # a business letter
        (date(2024, 12, 31), 1, date(2026, 1, 1)),
    ],
)
def test_due_on_is_the_first_of_january_after_the_period(made: date, years: int, due: date) -> None:
    assert due_on(made, years) == due


def test_a_notice_of_2015_is_due_in_2026_one_of_2016_not_yet() -> None:
    assert is_due(date(2015, 3, 1), 10, date(2026, 1, 1))
    assert not is_due(date(2015, 3, 1), 10, date(2025, 12, 31))
    assert not is_due(date(2016, 3, 1), 10, date(2026, 12, 3))


def test_defaults_and_their_categories() -> None:
    rules = RetentionRules.from_data({}, "x")
    assert rules.years("buchungsbeleg") == 10
    assert rules.years("schriftverkehr") == 6
    assert rules.years("benachrichtigung") < rules.years("schriftverkehr")
    assert category_of_document("notice") == "buchungsbeleg"
    assert category_of_document("objection") == "schriftverkehr"
    assert category_of_document("something_new") == "buchungsbeleg"  # the safe side
    assert all("§" in c.source or "DSGVO" in c.source for c in CATEGORIES.values())


def test_a_statute_overrides_a_period_and_is_checked() -> None:
    rules = RetentionRules.from_data({"periods": {"benachrichtigung": 3}}, "Löschkonzept 2026")
    assert rules.years("benachrichtigung") == 3
    assert "Löschkonzept 2026" in rules.rule_text("benachrichtigung")
    assert "§ 147" in rules.rule_text("buchungsbeleg")
    with pytest.raises(ValidationError, match="ganze Zahl"):
        RetentionRules.from_data({"periods": {"buchungsbeleg": 0}}, "x")
    with pytest.raises(ValidationError, match="Unbekannte"):
        RetentionRules.from_data({"periods": {"quatsch": 3}}, "x")
