"""Ids a back-office form sends in its fields (hidden inputs, radio buttons): read as positive
whole numbers that fit the database's INTEGER keys, or None — so ``refund_id=abc`` or an id of
2⁶⁴ becomes "not found" with a German message instead of a server error."""

from __future__ import annotations

from collections.abc import Mapping

MAX_ID = 2**31 - 1  # primary keys are INTEGER columns (32 bit on PostgreSQL)


def parse_id(text: str | None) -> int | None:
    """``"42"`` → 42; empty, signed, non-digit (also non-ASCII digits) or too large → None."""
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def form_id(values: Mapping[str, str], name: str) -> int | None:
    return parse_id(values.get(name))
