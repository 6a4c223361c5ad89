"""Amounts of money: integer euro cents, everywhere.

One place for parsing, rounding and formatting so that no float ever touches an amount.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NewType

Cents = NewType("Cents", int)

_EURO_RE = re.compile(r"^\s*(-)?\s*(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?\s*(?:€|EUR)?\s*$")

# The largest amount a ledger column stores: amounts are INTEGER columns, 32 bit on PostgreSQL
# (21.474.836,47 €). Typed text beyond it is refused, not left to overflow in the database.
MAX_STORED_CENTS = 2**31 - 1
# Longest text worth matching: the largest amount with every thousands separator, sign, cents,
# currency and some spaces fits easily; anything longer is no amount (and is never handed to
# int(), which refuses more than 4300 digits with a plain ValueError).
_MAX_TEXT = 64


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
    silently read as 1,250 euro. Raises ``MoneyParseError`` (with a German message) for
    anything else, also for amounts beyond what the ledger stores (``MAX_STORED_CENTS``).
    """
    text = text or ""
    match = _EURO_RE.match(text) if len(text) <= _MAX_TEXT else None
    if not match:
        raise MoneyParseError(f"Kein gültiger Betrag: {text[:_MAX_TEXT]!r}")
    sign, whole, frac = match.groups()
    value = int(whole.replace(".", "")) * 100 + int((frac or "0").ljust(2, "0"))
    if value > MAX_STORED_CENTS:
        raise MoneyParseError(
            f"Der Betrag ist zu groß; höchstens {format_euro(MAX_STORED_CENTS)} sind möglich."
        )
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
