"""EPC QR code (GiroCode, EPC069-12) payloads and their QR images."""

from __future__ import annotations

import base64
import io

import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from core.kernel.errors import ValidationError
from core.kernel.girocode import epc_payload, png_data_uri, qr_png
from core.kernel.references import is_valid_rf, make_rf

IBAN = "DE89370400440532013000"
NAME = "Stadtkasse Musterstadt"


def payload(**overrides: object) -> str:
    args: dict[str, object] = {"name": NAME, "iban": IBAN, "amount_cents": 13_525}
    args.update(overrides)
    return epc_payload(**args)  # type: ignore[arg-type]


def decode(png: bytes) -> list[str]:
    with Image.open(io.BytesIO(png)) as image:
        return [code.text for code in zxingcpp.read_barcodes(image)]


def test_domain_example_exactly() -> None:
    assert is_valid_rf("RF60HUND2025000123")  # the DOMAIN.md reference is a valid RF
    assert payload(rf_reference="RF60HUND2025000123") == (
        "BCD\n002\n1\nSCT\n\nStadtkasse Musterstadt\nDE89370400440532013000\nEUR135.25\n\n"
        "RF60HUND2025000123"
    )


def test_nothing_after_the_last_element() -> None:
    assert payload().endswith("\nEUR135.25")
    assert payload(text="Hundesteuer 2026").endswith("EUR135.25\n\n\nHundesteuer 2026")
    assert payload(info="Danke").endswith("EUR135.25\n\n\n\nDanke")
    assert payload(rf_reference="RF18 5390 0754 7034", info="Danke").endswith(
        "EUR135.25\n\nRF18539007547034\n\nDanke"
    )


def test_version_001_with_bic_and_normalised_inputs() -> None:
    text = payload(version="001", bic="cobadeff xxx", iban="DE89 3704 0044 0532 0130 00")
    assert text.splitlines()[:8] == [
        "BCD",
        "001",
        "1",
        "SCT",
        "COBADEFFXXX",
        NAME,
        IBAN,
        "EUR135.25",
    ]


@pytest.mark.parametrize(
    ("cents", "amount"),
    [(1, "EUR0.01"), (10, "EUR0.10"), (100, "EUR1.00"), (99_999_999_999, "EUR999999999.99")],
)
def test_amount_with_dot_and_two_decimals(cents: int, amount: str) -> None:
    assert payload(amount_cents=cents).splitlines()[7] == amount


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rf_reference": "RF60HUND2025000123", "text": "Hundesteuer"}, "nicht beides"),
        ({"name": "x" * 71}, "Zahlungsempfängers"),
        ({"name": "  "}, "Zahlungsempfängers"),
        ({"name": "Stadtkasse\nMusterstadt"}, "Zeilenumbruch"),
        ({"amount_cents": 0}, "Betrag"),
        ({"amount_cents": -5}, "Betrag"),
        ({"amount_cents": 100_000_000_000}, "Betrag"),
        ({"amount_cents": True}, "Cent"),
        ({"iban": "DE88370400440532013000"}, "IBAN"),  # wrong check digits
        ({"iban": "DE8937040044053201300"}, "IBAN"),  # too short
        ({"bic": "NOTABIC!"}, "BIC"),
        ({"version": "003"}, "Version"),
        ({"version": "001"}, "BIC"),  # 001 needs a BIC
        ({"rf_reference": "RF61HUND2025000123"}, "RF"),  # wrong check digits
        ({"rf_reference": "HUND2025000123"}, "RF"),
        ({"text": "x" * 141}, "Verwendungszweck"),
        ({"info": "x" * 71}, "Hinweis"),
    ],
)
def test_rejects_bad_input(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        payload(**overrides)
    assert info.value.message  # German, for the user


def test_payload_over_331_bytes_is_rejected() -> None:
    # Each field within its own limit, but umlauts take two bytes in UTF-8.
    fields = {"name": "Ä" * 70, "text": "Ü" * 140, "info": "Ö" * 70}
    with pytest.raises(ValidationError, match="331"):
        payload(**fields)


def test_payload_of_exactly_331_bytes_is_accepted() -> None:
    base = len(payload(text="x", info="y").encode())
    text = payload(text="x" + "ü" * ((331 - base) // 2), info="y" * (1 + (331 - base) % 2))
    assert len(text.encode("utf-8")) == 331


def test_qr_png_decodes_to_the_payload() -> None:
    text = payload(rf_reference="RF60HUND2025000123", info="Hundesteuer 2026 – Müller")
    png = qr_png(text)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode(png) == [text]


def test_qr_png_box_size_and_data_uri() -> None:
    text = payload()
    small, large = qr_png(text, box_size=2), qr_png(text, box_size=8)
    with Image.open(io.BytesIO(small)) as a, Image.open(io.BytesIO(large)) as b:
        assert b.size[0] == 4 * a.size[0]
    uri = png_data_uri(small)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == small


@given(
    cents=st.integers(min_value=1, max_value=99_999_999_999),
    reference=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21),
)
def test_any_valid_amount_and_reference(cents: int, reference: str) -> None:
    rf = make_rf(reference)
    lines = payload(amount_cents=cents, rf_reference=rf).split("\n")
    assert len(lines) == 10 and lines[9] == rf
    euros, dot, decimals = lines[7].removeprefix("EUR").partition(".")
    assert dot == "." and len(decimals) == 2
    assert int(euros) * 100 + int(decimals) == cents
