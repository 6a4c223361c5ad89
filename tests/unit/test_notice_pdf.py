"""The dog-tax notice as PDF: text, German notation, and both QR codes read back from the page."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from core.kernel.girocode import epc_payload, png_data_uri, qr_png
from core.kernel.pdf import date_de, group4, render_html, render_pdf
from core.kernel.references import make_kassenzeichen, make_rf
from core.kernel.tokens import make_token

SECRET = "test-secret-test-secret-test-secret"


def sample_context() -> dict[str, Any]:
    """A complete context for ``notice.html`` (as the dog-tax service will build it)."""
    municipality = {
        "name": "Stadt Musterstadt",
        "street": "Marktplatz 1",
        "postal_code": "12345",
        "city": "Musterstadt",
        "phone": "01234 567-0",
        "email": "stadtkasse@musterstadt.example",
        "cash_office_name": "Stadtkasse Musterstadt",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank",
    }
    kassenzeichen = make_kassenzeichen("001", 123)
    rf = make_rf(kassenzeichen)
    lines = [
        {
            "description": "Hund „Bello“, Mischling – erster Hund, Steuermarke 0815",
            "period_start": date(2026, 1, 1),
            "period_end": date(2026, 12, 31),
            "months": 12,
            "annual_cents": 10_800,
            "amount_cents": 10_800,
        },
        {
            "description": "Hund „Luna“, Labrador – zweiter Hund, Steuermarke 0842",
            "period_start": date(2026, 4, 1),
            "period_end": date(2026, 12, 31),
            "months": 9,
            "annual_cents": 18_000,
            "amount_cents": 13_500,
        },
    ]
    total = sum(line["amount_cents"] for line in lines)
    instalments = [
        {"due_date": date(2026, month, 15), "amount_cents": total // 4} for month in (2, 5, 8, 11)
    ]
    payload = epc_payload(
        name=municipality["cash_office_name"],
        iban=municipality["iban"],
        bic=municipality["bic"],
        amount_cents=total,
        rf_reference=rf,
    )
    token = make_token(SECRET, "notice", 4711, issued_at=datetime(2026, 1, 15, 8, tzinfo=UTC))
    link_url = f"https://portal.musterstadt.example/musterstadt/bescheid/{token}"
    return {
        "municipality": municipality,
        "recipient": {
            "name": "Frau Erika Mustermann",
            "lines": ["Heidestraße 17", "12345 Musterstadt"],
        },
        "notice": {
            "title": "Bescheid über die Festsetzung der Hundesteuer 2026",
            "number": "HS-2026-000123",
            "issued_on": date(2026, 1, 15),
            "person_number": "100234",
            "kassenzeichen": kassenzeichen,
            "rf": rf,
            "intro": (
                "Sehr geehrte Frau Mustermann, für das Halten von Hunden in der Stadt Musterstadt "
                "setzen wir für das Kalenderjahr 2026 die folgende Hundesteuer fest. Dieser "
                "Bescheid gilt auch für die folgenden Jahre, solange sich die Verhältnisse "
                "nicht ändern."
            ),
            "legal_basis": (
                "Die Steuer wird festgesetzt nach §§ 1 bis 12 der Satzung über die Erhebung "
                "einer Hundesteuer in der Stadt Musterstadt (Hundesteuersatzung) vom "
                "10.12.2024 in Verbindung mit §§ 1 und 3 des Kommunalabgabengesetzes und "
                "§§ 155 ff. der Abgabenordnung (AO). Die Steuer entsteht für jeden "
                "angefangenen Kalendermonat der Hundehaltung mit einem Zwölftel des "
                "Jahressteuersatzes."
            ),
            "remedy": (
                "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch "
                "erhoben werden. Der Widerspruch ist schriftlich, in elektronischer Form oder "
                "zur Niederschrift bei der Stadt Musterstadt, Marktplatz 1, 12345 Musterstadt, "
                "einzulegen. Widerspruch und Klage haben keine aufschiebende Wirkung (§ 80 "
                "Abs. 2 Satz 1 Nr. 1 VwGO); die festgesetzten Beträge sind daher zu den "
                "angegebenen Fälligkeiten zu zahlen."
            ),
        },
        "lines": lines,
        "instalments": instalments,
        "total_cents": total,
        "previous_cents": 0,
        "payable_cents": total,
        "epc_payload": payload,  # not used by the template: kept for the checks below
        "epc_qr": png_data_uri(qr_png(payload)),
        "link_qr": png_data_uri(qr_png(link_url)),
        "link_url": link_url,
    }


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    return sample_context()


@pytest.fixture(scope="module")
def pdf_file(context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("notice") / "notice.pdf"
    path.write_bytes(render_pdf("notice.html", context))
    return path


def test_filters() -> None:
    assert date_de(date(2026, 2, 5)) == "05.02.2026"
    assert group4("DE89370400440532013000") == "DE89 3704 0044 0532 0130 00"


def test_html_is_escaped(context: dict[str, Any]) -> None:
    hostile = dict(context, recipient={"name": "<script>x</script>", "lines": []})
    html = render_html("notice.html", hostile)
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_pdf_is_a4_with_the_notice_text(pdf_file: Path, context: dict[str, Any]) -> None:
    assert pdf_file.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf_file)], capture_output=True, text=True, check=True)
    assert re.search(r"Page size:\s+595\.2\d* x 841\.89 pts \(A4\)", info.stdout), info.stdout
    assert re.search(r"Pages:\s+2\n", info.stdout), info.stdout

    words = " ".join(pdftotext(pdf_file).split())  # reading order, whitespace normalised
    kz = context["notice"]["kassenzeichen"]
    for expected in [
        "Bescheid über die Festsetzung der Hundesteuer 2026",
        "Stadt Musterstadt",
        "Stadtkasse Musterstadt · Marktplatz 1 · 12345 Musterstadt",  # return address line
        "Frau Erika Mustermann Heidestraße 17 12345 Musterstadt",
        f"Kassenzeichen {kz[:3]} {kz[3:11]} {kz[11:]}",
        "Personenkonto 100234",
        "Datum 15.01.2026",
        "IBAN DE89 3704 0044 0532 0130 00",
        "BIC COBADEFFXXX",
        f"Verwendungszweck: {kz[:3]} {kz[3:11]} {kz[11:]}",
        "RF74 0010 0000 1236 8",
        "Rechtsgrundlage Die Steuer wird festgesetzt nach §§ 1 bis 12",
        "Rechtsbehelfsbelehrung Gegen diesen Bescheid kann innerhalb eines Monats",
        "GiroCode: mit der Banking-App scannen und überweisen",
        "Online bezahlen und Stand abrufen",
        f"Kassenzeichen {kz[:3]} {kz[3:11]} {kz[11:]} · Seite 2 von 2",  # running header
    ]:
        assert expected in words, expected

    layout = pdftotext(pdf_file, "-layout")  # rows of the tables stay on one line
    assert re.search(r"01\.01\.2026 – 31\.12\.2026 +12 +108,00 € +108,00 €", layout), layout
    assert re.search(r"01\.04\.2026 – 31\.12\.2026 +9 +180,00 € +135,00 €", layout), layout
    for due in ["15.02.2026", "15.05.2026", "15.08.2026", "15.11.2026"]:
        assert re.search(re.escape(due) + r" +60,75 €", layout), due
    assert re.search(r"Festgesetzter Betrag +243,00 €", layout)
    assert re.search(r"Gesamt +243,00 €", layout)


def test_both_qr_codes_on_page_one_decode(
    pdf_file: Path, context: dict[str, Any], tmp_path: Path
) -> None:
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf_file), str(tmp_path / "page1")],
        check=True,
    )
    with Image.open(tmp_path / "page1.png") as image:
        assert image.size[1] == 1754  # A4 at 150 dpi: 297 mm → 1754 px
        texts = sorted(code.text for code in zxingcpp.read_barcodes(image))
    assert texts == sorted([context["epc_payload"], context["link_url"]])
