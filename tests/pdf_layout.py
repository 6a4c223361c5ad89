"""Layout checks for rendered PDFs, shared by every document test: no two words overlap, and no
drawn rule (border, line, thin rectangle) or picture runs through a word.

Read back with pdfplumber (pdfminer): a word's box is its glyphs' advance box from the font's
descent to its ascent. A rule is checked against the word's "ink band" only — from a little below
the top to the baseline — so an underline or a table border just under the descenders passes,
while a line through the letters (the receipt's "Zahlungsweg" under the letterhead rule) fails.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import pdfplumber

# Glyph boxes of neighbouring words may touch or overlap by a hair (kerning, rounding).
WORD_TOLERANCE = 0.6  # pt


@dataclass(frozen=True)
class Box:
    page: int
    text: str
    x0: float
    top: float
    x1: float
    bottom: float

    def overlaps(self, other: Box, tolerance: float) -> bool:
        return (
            min(self.x1, other.x1) - max(self.x0, other.x0) > tolerance
            and min(self.bottom, other.bottom) - max(self.top, other.top) > tolerance
        )

    def __str__(self) -> str:
        return (
            f"p{self.page} {self.text!r} "
            f"({self.x0:.1f},{self.top:.1f})-({self.x1:.1f},{self.bottom:.1f})"
        )


def _words(page: pdfplumber.page.Page, number: int) -> list[Box]:
    # x_tolerance below a space's width: overlapping runs stay separate words.
    words = page.extract_words(x_tolerance=1, y_tolerance=1, keep_blank_chars=False)
    return [
        Box(number, w["text"], w["x0"], w["top"], w["x1"], w["bottom"])
        for w in words
        if w["text"].strip()
    ]


def _ink_band(word: Box) -> Box:
    height = word.bottom - word.top
    return Box(
        word.page,
        word.text,
        word.x0 + 0.5,
        word.top + 0.2 * height,
        word.x1 - 0.5,
        word.bottom - 0.3 * height,
    )


def _rules(page: pdfplumber.page.Page, number: int) -> list[Box]:
    # Every edge of every drawn line, rectangle and curve: WeasyPrint paints a border as the
    # even-odd fill of two nested rectangles, so its edges (not its area) are the rule; a
    # background's edges lie outside the padding of the text it holds.
    return [Box(number, "rule", e["x0"], e["top"], e["x1"], e["bottom"]) for e in page.edges]


def _pictures(page: pdfplumber.page.Page, number: int) -> list[Box]:
    return [Box(number, "image", im["x0"], im["top"], im["x1"], im["bottom"]) for im in page.images]


def _crossing(a: Box, b: Box) -> bool:
    """Whether a (possibly zero-width or zero-height) rule ``b`` touches box ``a``."""
    return max(a.x0, b.x0) < min(a.x1, b.x1) + (0.01 if b.x0 == b.x1 else 0) and max(
        a.top, b.top
    ) < min(a.bottom, b.bottom) + (0.01 if b.top == b.bottom else 0)


def _overlapping_pairs(boxes: list[Box], tolerance: float) -> Iterable[tuple[Box, Box]]:
    ordered = sorted(boxes, key=lambda b: b.top)
    for i, a in enumerate(ordered):  # sweep down the page
        for b in ordered[i + 1 :]:
            if b.top >= a.bottom - tolerance:
                break
            if a.overlaps(b, tolerance):
                yield a, b


def layout_problems(pdf: bytes) -> list[str]:
    """Every overlap of two words, and every rule or picture running through a word."""
    problems: list[str] = []
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for number, page in enumerate(document.pages, start=1):
            words = _words(page, number)
            problems += [
                f"text overlaps text: {a} / {b}"
                for a, b in _overlapping_pairs(words, WORD_TOLERANCE)
            ]
            bands = [_ink_band(w) for w in words]
            for rule in _rules(page, number) + _pictures(page, number):
                problems += [
                    f"{rule.text} runs through text: {band} / {rule}"
                    for band in bands
                    if _crossing(band, rule)
                ]
    return problems


def assert_clean_layout(pdf: bytes) -> None:
    """Fail with the list of collisions if any text overlaps text, a rule or a picture."""
    problems = layout_problems(pdf)
    assert not problems, "\n".join(problems[:40])


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page (for checks that the document says what it should)."""
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


MM = 72 / 25.4  # PDF points per millimetre
# DIN 5008 form B address field (without the return-address zone): 20–110 mm from the left
# edge, 62–90 mm from the top (window top at 45 mm plus the return-address zone).
ADDRESS_FIELD_MM = (20.0, 62.0, 110.0, 90.0)


def assert_in_address_window(pdf: bytes, name: str) -> None:
    """The recipient's name (its words in order) starts on page 1 inside the address field."""
    first, *_ = name.split()
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        words = _words(page, 1)
    x0, top, x1, bottom = (v * MM for v in ADDRESS_FIELD_MM)
    starts = [w for w in words if w.text == first and x0 <= w.x0 and top <= w.top <= bottom]
    assert starts, f"{name!r} not in the address window: {[str(w) for w in words[:20]]}"
    assert all(w.x1 <= x1 for w in words if w.top == starts[0].top), "name wider than window"
