"""Invitation links for representatives and powers of attorney.

A link is ``<row id>-<signed token>`` (core/kernel/tokens.py: HMAC-SHA256 with its issue time).
The purpose carries a fingerprint of the row's kind, id, invited address and "still pending", so a
link works only once: accepted, withdrawn or revoked, it is dead; after
:data:`INVITATION_MAX_AGE` it is dead too. Nothing is stored per link.

Who may accept: any logged-in citizen account that opens the link. The link went only to the
invited mailbox, so holding it proves possession of that mailbox — which lets an account without
an e-mail address (BundID, Unternehmenskonto) or with another one accept. The acceptance's audit
row names the account and whether its own address was the invited one
(:func:`acceptance_facts`); the e-mail asks not to forward the link.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from core.kernel import tokens
from core.kernel.errors import ExpiredToken, InvalidToken

# Long enough for an office to forward the mail to the right colleague.
INVITATION_MAX_AGE = timedelta(days=7)
INVALID = (
    "Diese Einladung ist ungültig, abgelaufen oder wurde bereits verwendet. Bitte lassen Sie "
    "sich erneut einladen."
)


class Invitation(Protocol):
    """A row that is invited by link: a representative or a power of attorney."""

    id: int

    @property
    def is_pending(self) -> bool: ...


Row = TypeVar("Row", bound=Invitation)


def acceptance_facts(account_email: str | None, invited_email: str) -> dict[str, object]:
    """For the audit row of an acceptance: how the account relates to the invited address."""
    own = (account_email or "").strip().lower()
    return {"accepted_by": "link", "account_email_matches": bool(own) and own == invited_email}


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


def pending(
    session: Session,
    model: type[Row],
    kind: str,
    email_of: Callable[[Row], str],
    secret: str,
    token: str,
    *,
    now: datetime,
) -> Row:
    """The still open invitation (a row of ``model``) a link names, changing nothing (to show
    what is offered, or before accepting); :class:`InvalidToken` for every dead link."""
    row = session.get(model, row_id_of(token))
    if row is None or not row.is_pending:
        raise InvalidToken(INVALID)
    check(secret, kind, row.id, email_of(row), token, now=now)
    return row
