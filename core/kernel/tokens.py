"""Signed, URL-safe tokens bound to a purpose (links printed on notices, e-mail links).

A token carries a subject id (e.g. a claim or meter id) and its issue time, signed with
HMAC-SHA256 by :mod:`itsdangerous` under a key derived from the secret and the *purpose*
(itsdangerous' salt): a token made for ``"claim"`` does not verify for ``"meter"``, and no one
without the secret can make or alter one, so the link cannot be guessed from an id.

Time is never read from the clock here: the caller passes ``issued_at`` and ``now``
(core.kernel.clock at the edge). The issue time travels inside the signed payload and the age is
checked here, so the rules work for any date in tests. A token whose issue time lies more than
:data:`CLOCK_SKEW` in the future of ``now`` is treated as invalid.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from core.kernel.errors import ExpiredToken, InvalidToken

CLOCK_SKEW = timedelta(seconds=60)


def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    if not secret:
        raise ValueError("token secret must not be empty")
    if not purpose:
        raise ValueError("token purpose must not be empty")
    return URLSafeSerializer(
        secret,
        salt=f"openkasse.{purpose}",
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def _epoch(moment: datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return int(moment.astimezone(UTC).timestamp())


def make_token(secret: str, purpose: str, subject_id: int, *, issued_at: datetime) -> str:
    """A token for ``subject_id`` (a positive int) and ``purpose``, issued at ``issued_at``."""
    if isinstance(subject_id, bool) or not isinstance(subject_id, int) or subject_id <= 0:
        raise ValueError("subject_id must be a positive int")
    payload = [subject_id, _epoch(issued_at, "issued_at")]
    token = _serializer(secret, purpose).dumps(payload)
    return str(token)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_token(secret: str, purpose: str, token: str, *, now: datetime, max_age: timedelta) -> int:
    """The subject id of a genuine token for ``purpose`` no older than ``max_age`` at ``now``.

    Raises :class:`~.errors.InvalidToken` for anything not made by :func:`make_token` with
    this secret and purpose (or issued in the future) and :class:`~core.kernel.errors.ExpiredToken`
    for a genuine one that is too old.
    """
    now_epoch = _epoch(now, "now")
    try:
        payload: Any = _serializer(secret, purpose).loads(token)
    except BadSignature as exc:
        raise InvalidToken("Der Link ist ungültig.") from exc
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and _is_int(payload[0])
        and _is_int(payload[1])
        and payload[0] > 0
    ):
        raise InvalidToken("Der Link ist ungültig.")
    age = timedelta(seconds=now_epoch - int(payload[1]))
    if age < -CLOCK_SKEW:
        raise InvalidToken("Der Link ist ungültig.")
    if age > max_age:
        raise ExpiredToken("Der Link ist abgelaufen. Bitte fordern Sie einen neuen an.")
    return int(payload[0])
