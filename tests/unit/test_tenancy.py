from decimal import Decimal

import pytest

from core.kernel.errors import ValidationError
from core.tenancy.municipalities import Municipality, contrast_with_white


def test_contrast_matches_wcag_reference_values() -> None:
    assert contrast_with_white("#000000").quantize(Decimal("0.1")) == Decimal("21.0")
    assert contrast_with_white("#ffffff") == Decimal(1)
    assert contrast_with_white("#767676") >= Decimal("4.5")  # the classic AA grey
    assert contrast_with_white("#777777") < Decimal("4.5")


@pytest.mark.parametrize("colour", ["#ffff00", "#87ceeb", "red", "#12345"])
def test_light_or_malformed_brand_colours_are_refused(colour: str) -> None:
    with pytest.raises(ValidationError):
        Municipality(primary_color=colour)


@pytest.mark.parametrize("slug", ["backoffice", "static", "A", "mit leerzeichen", "x"])
def test_reserved_or_malformed_slugs_are_refused(slug: str) -> None:
    with pytest.raises(ValidationError):
        Municipality(slug=slug)


def test_demo_colours_pass() -> None:
    assert Municipality(primary_color="#0b4f8a", slug="musterstadt").slug == "musterstadt"
    assert Municipality(primary_color="#6a1b4d").primary_color == "#6a1b4d"
