"""The simulator's SVG bar chart geometry and the CSV's German decimals (no database)."""

from __future__ import annotations

from backoffice.realtax_simulator import _percent, decimal
from backoffice.realtax_simulator_chart import VALUE_ROOM, WIDTH, bar_chart


def test_bars_proportional_to_the_largest_value_labels_in_order() -> None:
    chart = bar_chart(
        [("2026", [100_00, 200_00]), ("2027", [0, 50_00])], ("Satzung", "Annahme"), money=True
    )
    widths = [[b.width for b in row.bars] for row in chart.rows]
    assert widths == [
        [(WIDTH - VALUE_ROOM) // 2, WIDTH - VALUE_ROOM],
        [0, (WIDTH - VALUE_ROOM) // 4],
    ]
    assert [b.value for b in chart.rows[0].bars] == ["100,00 €", "200,00 €"]
    ys = [b.y for row in chart.rows for b in row.bars]
    assert ys == sorted(ys) and len(set(ys)) == 4 and chart.height > ys[-1]
    assert chart.series == (("Satzung", "#6b7a8f"), ("Annahme", "#0b4f8a"))


def test_a_tiny_positive_value_still_shows_and_all_zero_draws_nothing() -> None:
    chart = bar_chart([("a", [1]), ("b", [1_000_000])], ("Objekte",))
    assert chart.rows[0].bars[0].width == 1 and chart.rows[1].bars[0].value == "1.000.000"
    assert all(b.width == 0 for row in bar_chart([("x", [0])], ("O",)).rows for b in row.bars)


def test_german_decimals_and_percentages() -> None:
    assert [decimal(c) for c in (0, 5, -123456, 100)] == ["0,00", "0,05", "-1234,56", "1,00"]
    assert [_percent(t) for t in ("480", "412,5", "412.25", "480 %")] == [
        48000,
        41250,
        41225,
        48000,
    ]
