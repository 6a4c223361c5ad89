"""Amounts of money: integer euro cents, everywhere.

One place for parsing, rounding and formatting so that no float ever touches an amount.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NewType

Cents = NewType("Cents", int)

_EURO_RE = re.compile(r"^\s*(-)?\s*(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?\s*(?:€|EUR)?\s*$")


class MoneyParseError(ValueError):
    """Raised for text that is not an amount in German notation."""


def cents(value: int) -> Cents:
    """The one constructor for an amount in cents (rejects bool and float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"amount must be int cents, not {type(value).__name__}")
    return Cents(value)


def from_decimal(amount: Decimal, rounding: str = ROUND_HALF_UP) -> Cents:
    """Euro as Decimal → cents, rounded half-up (commercial rounding) unless told otherwise."""
    if not isinstance(amount, Decimal):
        raise TypeError("from_decimal takes a Decimal")
    return Cents(int((amount * 100).quantize(Decimal(1), rounding=rounding)))


def to_decimal(value: int) -> Decimal:
    """Cents → euro as Decimal with two places (for XML files and payment providers)."""
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


def parse_euro(text: str) -> Cents:
    """Parse German notation: ``1.234,56``, ``12,5``, ``12`` (optionally with ``€``).

    A dot is only accepted as a thousands separator, so ``12.50`` is rejected rather than
    silently read as 1,250 euro.
    """
    match = _EURO_RE.match(text or "")
    if not match:
        raise MoneyParseError(f"Kein gültiger Betrag: {text!r}")
    sign, whole, frac = match.groups()
    value = int(whole.replace(".", "")) * 100 + int((frac or "0").ljust(2, "0"))
    return Cents(-value if sign else value)


def parse_decimal_euro(text: str) -> Cents:
    """Parse a machine amount like ``135.25`` (bank files, provider APIs): exact, no rounding."""
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyParseError(f"Kein gültiger Betrag: {text!r}") from exc
    if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        raise MoneyParseError(f"Mehr als zwei Nachkommastellen: {text!r}")
    return from_decimal(amount)


def format_euro(value: int, *, symbol: bool = True) -> str:
    """Cents → ``1.234,56 €`` (German notation)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 100)
    text = f"{sign}{whole:,}".replace(",", ".") + f",{frac:02d}"
    return f"{text} €" if symbol else text


def pro_rata(annual: int, numerator: int, denominator: int) -> Cents:
    """``annual × numerator / denominator`` rounded half-up to the cent, in integers only."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if annual < 0 or numerator < 0:
        raise ValueError("pro_rata takes non-negative amounts")
    return Cents((2 * annual * numerator + denominator) // (2 * denominator))
