"""The property-tax levy without a database: DOMAIN.md's example ("Property tax and trade tax":
Messbetrag 60.00 at 480 % → 288.00 € → 72.00 € on each quarter date) assessed for one owner
with the pipeline's assessment, one notice for all plots, the small-amount rules, the payments
after a change (§§ 28 to 31 GrStG), and properties: whatever sequence of notices a year sees,
the payments always add up to the last tax, are never negative, and a notice of the same tax
moves nothing."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.levies.assessing import INSTALMENTS
from core.levies.basis_notices.models import LandUse, PropertyClass
from core.levies.cases import Addressee, AddressLines, Case
from core.levies.property_tax import payments
from core.levies.property_tax.assessment import PROPERTY_TAX
from core.levies.property_tax.plots import Holding, Plot, kind_of, share_cents
from core.levies.property_tax.rules import NON_RESIDENTIAL, RESIDENTIAL, PropertyTaxRules
from core.levies.schedule import schedule

untimed = settings(deadline=None)  # Hypothesis's deadline would be a timed assertion
RULES = PropertyTaxRules.from_data(
    {"hebesatz_percent": {"A": 300, "B": 480}, "small_amounts": True, "remedy": "Klage (Test)"},
    "Hebesatzsatzung Test",
)
JAN = date(2026, 1, 10)
ERIKA = Addressee(
    1,
    1,
    1001,
    "Erika Mustermann",
    (AddressLines("Lindenweg", "7", "12345", "Musterstadt", date(2000, 1, 1), None),),
)


def case(*plots: Plot, booked: dict[str, int] | None = None, annual: bool = False) -> Case[Holding]:
    return Case(ERIKA, Holding(list(plots), annual), {2026: (booked or {}, {})}, bool(booked))


def plot(messbetrag: int, kind: str = RESIDENTIAL, ref: str = "3150/123/4567") -> Plot:
    return Plot(1, ref, "Lindenweg 7, 12345 Musterstadt", kind, messbetrag, 1)


def test_domain_example_assessed_as_a_notice_of_the_levy() -> None:
    assessment = PROPERTY_TAX.assess(case(plot(6000)), 2026, JAN, RULES)
    assert assessment is not None and assessment.total_cents == 28800
    targets = assessment.tables[INSTALMENTS].targets
    assert [(t.due_date, t.amount_cents, t.label) for t in targets] == [
        (date(2026, 2, 15), 7200, "1. Quartal"),
        (date(2026, 5, 15), 7200, "2. Quartal"),
        (date(2026, 8, 15), 7200, "3. Quartal"),
        (date(2026, 11, 15), 7200, "4. Quartal"),
    ]
    assert targets[0].key == "property_tax:2026:2026-02-15"
    rows = {INSTALMENTS: schedule(targets, {}, {})}
    data = assessment.snapshot(rows, True, 28800)
    assert data["template"] == "property_tax_notice.html"
    [line] = data["lines"]
    assert (line["basis"], line["amount_cents"]) == ("60,00 € × 480 %", 28800)
    assert "bis auf Weiteres" in data["intro"] and data["remedy"] == "Klage (Test)"
    assert assessment.title(True) == "Bescheid über die Festsetzung der Grundsteuer 2026"


def test_one_notice_for_all_plots_each_rounded_on_its_own() -> None:
    assessment = PROPERTY_TAX.assess(
        case(plot(6000), plot(1, NON_RESIDENTIAL, "3150/123/4568")), 2026, JAN, RULES
    )
    assert assessment is not None
    assert assessment.total_cents == 28800 + 4  # 0.01 € × 480 % = 0.048 € → 0.04 €


def test_small_amounts_in_full_on_15_august() -> None:
    assessment = PROPERTY_TAX.assess(case(plot(300)), 2026, JAN, RULES)  # 14.40 €
    assert assessment is not None
    [target] = assessment.tables[INSTALMENTS].targets
    assert (target.due_date, target.amount_cents) == (date(2026, 8, 15), 1440)


def test_annual_payment_on_application_on_1_july() -> None:
    assessment = PROPERTY_TAX.assess(case(plot(6000), annual=True), 2026, JAN, RULES)
    assert assessment is not None
    [target] = assessment.tables[INSTALMENTS].targets
    assert (target.due_date, target.amount_cents) == (date(2026, 7, 1), 28800)
    assert target.label == "Jahresbetrag auf Antrag"


def test_nothing_on_file_nothing_assessed_but_a_cancelled_plot_is_assessed_to_zero() -> None:
    assert PROPERTY_TAX.assess(case(), 2026, JAN, RULES) is None
    booked = {payments.key(2026, date(2026, 2, 15)): 7200}
    assessment = PROPERTY_TAX.assess(case(booked=booked), 2026, date(2026, 3, 1), RULES)
    assert assessment is not None and assessment.total_cents == 0
    assert assessment.tables[INSTALMENTS].targets == [] and not assessment.printable


def test_kind_and_share_of_a_plot() -> None:
    assert kind_of(PropertyClass.A, None) == "A"
    assert kind_of(PropertyClass.B, LandUse.NON_RESIDENTIAL) == NON_RESIDENTIAL
    assert kind_of(PropertyClass.B, None) == RESIDENTIAL  # assumption: the lower B rate
    assert share_cents(10001, 1, 2, None) == 5000  # Zerlegung: the fraction of a cent dropped
    assert share_cents(10000, None, None, 2500) == 2500
    assert share_cents(10000, None, None, None) == 10000


def test_first_notice_late_in_the_year_passed_quarters_due_a_month_later() -> None:
    stands = payments.standing({}, 28800, 2026, RULES, date(2026, 6, 20))
    assert stands == {date(2026, 7, 20): 14400, date(2026, 8, 15): 7200, date(2026, 11, 15): 7200}


def test_change_after_two_due_dates_moves_only_the_difference() -> None:
    booked = {date(2026, m, 15): 7200 for m in (2, 5, 8, 11)}
    stands = payments.standing(booked, 36000, 2026, RULES, date(2026, 6, 20))
    assert stands == {
        date(2026, 2, 15): 7200,
        date(2026, 5, 15): 7200,
        date(2026, 7, 20): 3600,
        date(2026, 8, 15): 9000,
        date(2026, 11, 15): 9000,
    }
    assert payments.standing(stands, 36000, 2026, RULES, date(2026, 10, 1)) == stands


def test_reduction_of_passed_days_lowers_the_latest_passed_day_first() -> None:
    booked = {date(2026, m, 15): 7200 for m in (2, 5, 8, 11)}
    stands = payments.standing(booked, 24000, 2026, RULES, date(2026, 9, 1))  # 60 € a quarter
    assert stands == {
        date(2026, 2, 15): 7200,
        date(2026, 5, 15): 7200,
        date(2026, 8, 15): 3600,  # the 3 × 12 € credit of the passed days
        date(2026, 11, 15): 6000,
    }


notices = st.lists(
    st.tuples(st.integers(0, 2_000_000), st.integers(0, 400)), min_size=1, max_size=6
)


@untimed
@given(notices, st.booleans(), st.booleans())
def test_payments_always_add_up_to_the_last_tax(
    sequence: list[tuple[int, int]], small: bool, annual: bool
) -> None:
    rules = PropertyTaxRules.from_data(
        {"hebesatz_percent": {"A": 300, "B": 480}, "small_amounts": small}, "Test"
    )
    stands: dict[date, int] = {}
    day = date(2026, 1, 1)
    for tax, days_later in sorted(sequence, key=lambda s: s[1]):
        day = max(day, date(2026, 1, 1) + timedelta(days=days_later))
        stands = payments.standing(stands, tax, 2026, rules, day, annual_payment=annual)
        assert sum(stands.values()) == tax
        assert all(cents > 0 for cents in stands.values())
        again = payments.standing(stands, tax, 2026, rules, day + timedelta(days=30))
        assert again == stands  # the same tax moves nothing, whenever asked
