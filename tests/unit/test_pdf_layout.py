"""The layout checker itself (tests/pdf_layout.py) on tiny WeasyPrint pages: it must see text
on text and a rule through text, and must let an underline and a table border pass."""

from __future__ import annotations

from weasyprint import HTML

from tests.pdf_layout import layout_problems

PAGE = '<html><body style="font-family: DejaVu Sans; font-size: 10pt">{}</body></html>'


def pdf(body: str) -> bytes:
    return HTML(string=PAGE.format(body)).write_pdf()


def test_text_on_text_is_found() -> None:
    problems = layout_problems(
        pdf(
            '<div style="position: absolute; top: 10mm">Zahlungsbestätigung</div>'
            '<div style="position: absolute; top: 11mm">Stadt Musterstadt</div>'
        )
    )
    assert problems and all("text overlaps text" in p for p in problems)


def test_a_rule_through_a_word_is_found() -> None:
    problems = layout_problems(
        pdf(
            '<div style="height: 12mm; border-bottom: 1pt solid black"></div>'
            '<div style="margin-top: -2.5mm">Zahlungsweg</div>'
        )
    )
    assert any("runs through text" in p and "Zahlungsweg" in p for p in problems)


def test_underline_table_borders_and_pictures_beside_text_pass() -> None:
    assert not layout_problems(
        pdf(
            '<p style="text-decoration: underline">Stadtkasse · Markt 1</p>'
            '<table style="border-collapse: collapse"><tr>'
            '<td style="border: 0.8pt solid black; padding: 1mm">Zahlungsweg</td>'
            '<td style="border: 0.8pt solid black; padding: 1mm">Kartenzahlung</td></tr></table>'
        )
    )
