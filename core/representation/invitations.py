"""Invitation links for representatives and powers of attorney.

A link is ``<row id>-<signed token>`` (core/kernel/tokens.py: HMAC-SHA256 with its issue time).
The purpose carries a fingerprint of the row's kind, id, invited address and "still pending", so a
link works only once: accepted, withdrawn or revoked, it is dead. Nothing is stored per link.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from core.kernel import tokens
from core.kernel.errors import ExpiredToken, InvalidToken

# Long enough for an office to forward the mail to the right colleague.
INVITATION_MAX_AGE = timedelta(days=7)
INVALID = (
    "Diese Einladung ist ungültig, abgelaufen oder wurde bereits verwendet. Bitte lassen Sie "
    "sich erneut einladen."
)


def _purpose(kind: str, row_id: int, email: str) -> str:
    digest = hashlib.sha256(f"{kind}\x1f{row_id}\x1f{email}\x1fpending".encode()).hexdigest()
    return f"{kind}-invitation.{digest[:32]}"


def make(secret: str, kind: str, row_id: int, email: str, *, issued_at: datetime) -> str:
    signed = tokens.make_token(secret, _purpose(kind, row_id, email), row_id, issued_at=issued_at)
    return f"{row_id}-{signed}"


def row_id_of(token: str) -> int:
    """The id a link names (not yet verified: :func:`check` does that)."""
    row_id, _, _signed = token.partition("-")
    if not row_id.isdigit() or len(row_id) > 9:
        raise InvalidToken(INVALID)
    return int(row_id)


def check(
    secret: str,
    kind: str,
    row_id: int,
    email: str,
    token: str,
    *,
    now: datetime,
    max_age: timedelta = INVITATION_MAX_AGE,
) -> None:
    """Raise :class:`InvalidToken` unless ``token`` was made for this pending row."""
    try:
        subject = tokens.read_token(
            secret, _purpose(kind, row_id, email), token.partition("-")[2], now=now, max_age=max_age
        )
    except (InvalidToken, ExpiredToken) as exc:  # one message for every dead link
        raise InvalidToken(INVALID) from exc
    if subject != row_id:
        raise InvalidToken(INVALID)
