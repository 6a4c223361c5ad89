"""Helpers shared by the browser tests: logging in, reading downloaded PDFs (text and QR
codes), German amounts and tampered links."""

from __future__ import annotations

import base64
import io
import re
import subprocess
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import Locator, Page

from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.server import PASSWORD

EURO = r"(\d{1,3}(?:\.\d{3})*,\d{2})\s*€"
EPC_HEADER = "BCD\n002\n1\nSCT\n"


def cents(german_amount: str) -> int:
    """``1.234,56`` → 123456."""
    return int(german_amount.replace(".", "").replace(",", ""))


def log_in(page: Page, login_path: str, email: str, *, phone: bool) -> None:
    """Fill the log-in form at ``login_path`` (checked with axe, and its width on a phone)."""
    page.goto(login_path)
    check = check_phone_page if phone else assert_accessible
    check(page)
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


def cards(page: Page) -> Locator:
    """The cards (list items with a heading) in the main content: dogs or notices."""
    return (
        page.get_by_role("main")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", level=2))
    )


def pdf_text(pdf: Path) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


def flat_text(pdf: Path) -> str:
    """The PDF's text with every run of white space made one space."""
    return re.sub(r"\s+", " ", pdf_text(pdf))


def qr_codes(pdf: Path, out: Path) -> dict[int, list[str]]:
    """The QR codes on pages 1 and 2 of the PDF, decoded from 150 dpi PNG renderings."""
    found: dict[int, list[str]] = {}
    for number in (1, 2):
        prefix = out / f"page{number}"
        pages = ["-f", str(number), "-l", str(number), "-singlefile"]
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", *pages, str(pdf), str(prefix)],
            check=True,
            capture_output=True,
        )
        with Image.open(prefix.with_suffix(".png")) as image:
            found[number] = [
                b.text
                for b in zxingcpp.read_barcodes(image)
                if b.format == zxingcpp.BarcodeFormat.QRCode
            ]
    return found


def tamper(token: str) -> str:
    """The token with one character of its signature changed (not the last character, whose
    low bits base64 ignores)."""
    payload, _, signature = token.rpartition(".")
    first = "B" if signature[0] == "A" else "A"
    return f"{payload}.{first}{signature[1:]}"


def qr_image_text(image: Locator) -> list[str]:
    """The QR codes in an ``<img>`` whose ``src`` is a PNG data URI (a GiroCode on a page)."""
    src = image.get_attribute("src") or ""
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), f"not a PNG data URI: {src[:40]!r}"
    with Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :]))) as png:
        return [
            b.text for b in zxingcpp.read_barcodes(png) if b.format == zxingcpp.BarcodeFormat.QRCode
        ]


def recipient_street(notice_text: str, name: str) -> list[str]:
    """The street of the recipient ``name`` as printed in a notice's address window
    (``notice_text``: :func:`pdf_text` of the notice)."""
    lines = [line.strip() for line in notice_text.splitlines() if line.strip()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith(name):
            street = re.split(r"\s{2,}", lines[i + 1])[0]  # the info block is beside it
            street_name = re.sub(r"\s+\d+\s*\w?$", "", street)
            assert re.search(r"[a-zäöüß]{3}", street_name), f"no street in {lines[i + 1]!r}"
            return [street_name]
    raise AssertionError(f"the recipient {name!r} is not in the notice")
